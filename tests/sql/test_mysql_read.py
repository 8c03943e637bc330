"""Pieces of the MySQL / MariaDB reader that need no server (the hook's tests read from one)."""

from __future__ import annotations

from airflow_etl_provider.sql.mysql_read import column_origins


def test_column_origins_reads_bare_columns_of_the_outer_select() -> None:
    rewritten = (
        "/* select#1 */ select `db`.`t`.`doc` AS `x`,concat(`db`.`t`.`doc`,'`db`.`t`.`y` AS `y`') AS `c`,"
        "`q`.`doc` AS `doc` from `db`.`typed` `t` join (/* select#2 */ select `db`.`u`.`doc` AS `doc` "
        "from `db`.`u` limit 5) `q`"
    )
    assert column_origins(rewritten) == {"x": ("db", "typed", "doc")}
    not_merged = (
        "select `_q`.`d` AS `d`,`_q`.`n` AS `n` from (select `db`.`u`.`doc` AS `d`,'{}' AS `n` from `db`.`u`) `_q`"
    )
    assert column_origins(not_merged) == {"d": ("db", "u", "doc")}
    assert column_origins("select `db`.`u`.`doc` AS `doc` from `db`.`u` union select 'x' AS `doc`") == {}
