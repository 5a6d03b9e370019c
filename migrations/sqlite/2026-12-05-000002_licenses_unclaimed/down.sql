DROP INDEX licenses_unclaimed;
