DROP INDEX orders_customer_created;
