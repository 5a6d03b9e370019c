DROP INDEX cases_opened_by;
DROP INDEX orders_status_booked;
DROP INDEX orders_status_submitted;
DROP INDEX orders_created_by_status;
