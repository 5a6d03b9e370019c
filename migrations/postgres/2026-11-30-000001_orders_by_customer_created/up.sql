-- The Orders list, newest first, reads each of its sources from an index in
-- that order; orders by their customer account had none, and a customer
-- account with many orders was sorted whole on every page.
CREATE INDEX orders_customer_created ON orders (customer_account_id, created_at, id);
