"""The `jdbc` table connector from Python, against real MariaDB and PostgreSQL servers: a
streaming GROUP BY with a Python function upserted into a table with a primary key, and a
table read back through SQL."""

from pyflink_rs.table import DataTypes
from pyflink_rs.table.udf import udf
from table_helpers import streaming


def jdbc_options(database, table, extra=""):
    return (f"'connector' = 'jdbc', 'url' = '{database.jdbc_url}', 'table-name' = '{table}', "
            f"'username' = '{database.user}', 'password' = '{database.password}'{extra}")


REGIONS = {"hangzhou": "zhejiang", "ningbo": "zhejiang", "suzhou": "jiangsu"}


@udf(result_type=DataTypes.STRING())
def region(city):
    return REGIONS.get(city, "unknown")


def test_a_group_by_with_a_python_function_is_upserted_into_the_database(database_server):
    database = database_server.create_database("py_upsert")
    database.execute("CREATE TABLE by_region (region VARCHAR(32) PRIMARY KEY, visits BIGINT, bytes BIGINT)")
    t_env = streaming(2)
    t_env.create_temporary_system_function("region", region)
    t_env.execute_sql(f"""
        CREATE TABLE sink (region STRING, visits BIGINT, bytes BIGINT, PRIMARY KEY (region) NOT ENFORCED)
        WITH ({jdbc_options(database, 'by_region', ", 'sink.buffer-flush.max-rows' = '3'")})""")
    cities = ["hangzhou", "ningbo", "suzhou", "lhasa"]
    logs = t_env.from_elements([(cities[n % 4], n) for n in range(200)], ["city", "size"])
    t_env.create_temporary_view("logs", logs)
    t_env.execute_sql("INSERT INTO sink SELECT region(city), COUNT(*), SUM(size) FROM logs GROUP BY region(city)").wait()
    expected = {}
    for n in range(200):
        name = REGIONS.get(cities[n % 4], "unknown")
        visits, size = expected.get(name, (0, 0))
        expected[name] = (visits + 1, size + n)
    rows = database.rows("SELECT region, visits, bytes FROM by_region ORDER BY region")
    assert rows == [(name, str(visits), str(size)) for name, (visits, size) in sorted(expected.items())]


def test_a_database_table_is_read_through_sql(database_server):
    database = database_server.create_database("py_scan")
    database.execute("CREATE TABLE prices (item VARCHAR(16), price DECIMAL(8, 2), sold_at TIMESTAMP)")
    database.execute("INSERT INTO prices VALUES ('tea', 3.50, '2024-05-01 10:00:00'), "
                     "('cake', 4.25, '2024-05-01 11:30:00'), ('tea', 3.75, '2024-05-02 09:00:00')")
    t_env = streaming(1)
    t_env.execute_sql(f"""
        CREATE TABLE prices (item STRING, price DECIMAL(8, 2), sold_at TIMESTAMP(3))
        WITH ({jdbc_options(database, 'prices')})""")
    with t_env.execute_sql("SELECT item, price, sold_at FROM prices WHERE item = 'tea'").collect() as results:
        rows = sorted((row[0], str(row[1]), row[2].isoformat()) for row in results)
    assert rows == [("tea", "3.50", "2024-05-01T10:00:00"), ("tea", "3.75", "2024-05-02T09:00:00")]


def test_the_cdn_jobs_pyflink_1_10_program_upserts_by_its_group_by_keys(database_server):
    """The flagship job as PyFlink 1.10 wrote it (a Python list stands in for its Kafka topic):
    the blink planner, sql_update, the legacy JDBC keys without a primary key, register_function,
    string expressions, insert_into and t_env.execute."""
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from pyflink_rs.table import EnvironmentSettings, StreamTableEnvironment

    database = database_server.create_database("py_cdn")
    database.execute("CREATE TABLE cdn_access_statistic (province VARCHAR(32) PRIMARY KEY, access_count BIGINT, "
                     "total_download BIGINT, download_speed DOUBLE PRECISION)")

    @udf(input_types=[DataTypes.STRING()], result_type=DataTypes.STRING())
    def ip_to_province(ip):
        return {"1": "beijing", "2": "shanghai"}.get(ip[0], "unknown")

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    t_env = StreamTableEnvironment.create(
        env, environment_settings=EnvironmentSettings.new_instance().use_blink_planner().build())
    logs = [(f"u{n}", f"{n % 3}.0.0.1", n % 5 + 1, n * 10, "/x", n) for n in range(300)]
    t_env.create_temporary_view("cdn_access_log", t_env.from_elements(
        logs, ["uuid", "client_ip", "request_time", "response_size", "uri", "event_ts"]))
    t_env.sql_update(f"""
        CREATE TABLE cdn_access_statistic (
         province VARCHAR,
         access_count BIGINT,
         total_download BIGINT,
         download_speed DOUBLE
        ) WITH (
         'connector.type' = 'jdbc',
         'connector.url' = '{database.jdbc_url}',
         'connector.table' = 'cdn_access_statistic',
         'connector.username' = '{database.user}',
         'connector.password' = '{database.password}',
         'connector.write.flush.interval' = '1s'
        )""")
    t_env.register_function("ip_to_province", ip_to_province)
    t_env.from_path("cdn_access_log") \
        .select("uuid, "
                "ip_to_province(client_ip) as province, "
                "response_size, request_time") \
        .group_by("province") \
        .select("province, "
                "count(uuid) as access_count, "
                "sum(response_size) as total_download,  "
                "sum(response_size) * 1.0 / sum(request_time) as download_speed") \
        .insert_into("cdn_access_statistic")
    t_env.execute("pyflink_parse_cdn_log")

    totals = {}
    for _, ip, request_time, size, _, _ in logs:
        province = {"1": "beijing", "2": "shanghai"}.get(ip[0], "unknown")
        count, download, time = totals.get(province, (0, 0, 0))
        totals[province] = (count + 1, download + size, time + request_time)
    rows = database.rows("SELECT province, access_count, total_download, download_speed FROM cdn_access_statistic "
                         "ORDER BY province")
    assert [(p, int(c), int(d), round(float(s), 6)) for p, c, d, s in rows] == [
        (p, c, d, round(d / t, 6)) for p, (c, d, t) in sorted(totals.items())]


def test_the_datastream_jdbc_sink_runs_its_statement_for_each_row(database_server):
    """PyFlink's `JdbcSink.sink(sql, type_info, ...)` from a DataStream: every row's fields fill
    the statement's placeholders (a `?` inside quotes is text), written in small batches."""
    import datetime
    import decimal

    from pyflink_rs.common import Row, Types
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from pyflink_rs.datastream.connectors.jdbc import JdbcConnectionOptions, JdbcExecutionOptions, JdbcSink

    database = database_server.create_database("py_stream_sink")
    database.execute("CREATE TABLE books (id INT, title VARCHAR(64), price DECIMAL(8, 2), note VARCHAR(8), "
                     "added DATE)")
    row_type = Types.ROW_NAMED(["id", "title", "price", "added"],
                               [Types.INT(), Types.STRING(), Types.BIG_DEC(), Types.SQL_DATE()])
    books = [Row(n, f"book 'no' {n}", decimal.Decimal(f"{n}.25"), datetime.date(2024, 1, n)) for n in range(1, 8)]
    books.append(Row(8, None, None, None))
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    connection = (JdbcConnectionOptions.JdbcConnectionOptionsBuilder().with_url(database.jdbc_url)
                  .with_driver_name("org.postgresql.Driver").with_user_name(database.user)
                  .with_password(database.password).build())
    execution = JdbcExecutionOptions.builder().with_batch_size(3).with_batch_interval_ms(200).with_max_retries(2).build()
    assert (execution.get_batch_size(), execution.get_batch_interval_ms(), execution.get_max_retries()) == (3, 200, 2)
    assert JdbcExecutionOptions.defaults().get_batch_size() == 5000 and connection.get_user_name() == database.user
    sink = JdbcSink.sink("INSERT INTO books (id, title, price, note, added) VALUES (?, ?, ?, 'a?', ?)", row_type,
                         connection, execution)
    env.from_collection(books, row_type).rebalance().add_sink(sink)
    env.execute("books")
    rows = database.rows("SELECT id, title, price, note, added FROM books WHERE id < 8 ORDER BY id")
    assert rows == [(str(n), f"book 'no' {n}", f"{n}.25", "a?", f"2024-01-0{n}") for n in range(1, 8)]
    nulls = database.rows("SELECT COUNT(*) FROM books WHERE id = 8 AND title IS NULL AND price IS NULL AND added IS NULL")
    assert nulls == [("1",)]
    import pytest
    wrong = JdbcSink.sink("INSERT INTO books (id, title) VALUES (?, ?)", row_type, connection)
    with pytest.raises(Exception, match="has 2 placeholder.*4 fields"):
        env.from_collection(books, row_type).add_sink(wrong)
