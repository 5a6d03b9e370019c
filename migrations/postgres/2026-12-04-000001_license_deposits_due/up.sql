-- Shipped orders whose licenses have not all landed yet, and when they are due: the order worker
-- reads only these, however many orders were shipped and delivered before.
CREATE TABLE license_deposits_due (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    due_at TIMESTAMP NOT NULL
);
CREATE INDEX license_deposits_due_at ON license_deposits_due (due_at, order_id);
INSERT INTO license_deposits_due (order_id, due_at)
SELECT id, licenses_due_at FROM orders
WHERE status = 'shipped' AND licenses_due_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM order_lines WHERE order_lines.order_id = orders.id AND order_lines.licenses_deposited_at IS NULL);
