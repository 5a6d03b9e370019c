DROP TABLE sign_in_failures;
DROP TABLE outbox;
DROP TABLE users;
DROP TABLE company_domains;
DROP TABLE companies;
