// WritPostgres: Writ's stores on PostgreSQL (postgres-nio), built only with the `Postgres` package trait.
#if Postgres
internal import PostgresNIO
#endif
