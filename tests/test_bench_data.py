"""The benchmark's bulk inserts name every column, so `make bench` keeps up with the schema."""

from bench.seed import COMMENT_COLUMNS, THREAD_COLUMNS, _comment_row
from discuss.models import Comment, Thread


def test_bench_rows_fill_every_column_of_comments_and_threads():
    assert set(COMMENT_COLUMNS) == set(Comment.__table__.columns.keys())
    assert set(THREAD_COLUMNS) == set(Thread.__table__.columns.keys())
    row = _comment_row(1, 1, 1, None, 1, 0, "Ann", "Hi", "<p>Hi</p>", None)
    assert set(row) == set(COMMENT_COLUMNS)
