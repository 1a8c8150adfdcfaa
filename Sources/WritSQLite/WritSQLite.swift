// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
internal import GRDB
#endif
