DROP TABLE licenses;
DROP TABLE assignment_events;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE product_components;
DROP TABLE products;
