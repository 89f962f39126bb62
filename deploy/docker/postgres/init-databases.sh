#!/bin/sh
# First start of the PostgreSQL container: one database per consumer, all owned by
# POSTGRES_USER. (Runs from /docker-entrypoint-initdb.d/ only when the volume is empty.)
set -eu
for database in ${NBA_MLOPS_DATABASES:-nba mlflow}; do
    echo "creating database $database"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\""
done
