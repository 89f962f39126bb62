"""The application database: users and the predictions they asked for (SQLAlchemy 2)."""
