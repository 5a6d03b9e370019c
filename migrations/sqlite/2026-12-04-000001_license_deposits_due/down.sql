DROP TABLE license_deposits_due;
