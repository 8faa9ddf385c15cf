"""A file that cannot be read writes nothing and says where and why: hostile XML (a DTD, entity
expansion, external entities), XML that is not well-formed, a damaged gzip file, something that
is no export at all."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.import_helpers import DATA, counts, run_import

REFUSED = "XML with a DTD (<!DOCTYPE …>) is refused"


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml", "doctype.xml"])
def test_hostile_xml_is_refused_with_a_clear_message_and_writes_nothing(runner, site, name):
    result = run_import(runner, DATA / name)
    assert result.exit_code != 0
    assert f"{name}: {REFUSED}" in result.output
    assert "root:" not in result.output  # nothing of /etc/passwd
    assert counts() == (0, 0)


def test_hostile_xml_is_refused_even_when_its_format_is_given(runner, site):
    result = run_import(runner, DATA / "external-entity.xml", "--format", "wordpress")
    assert result.exit_code != 0
    assert REFUSED in result.output
    assert counts() == (0, 0)


def test_a_file_that_breaks_halfway_writes_nothing_and_names_the_line(runner, site):
    result = run_import(runner, DATA / "disqus-broken.xml")
    assert result.exit_code != 0
    assert "disqus-broken.xml: line 16, column 4: the XML is not well-formed " \
           "(mismatched tag)" in result.output
    assert counts() == (0, 0)  # the good post before the break was rolled back too


@pytest.mark.parametrize("name", ["disqus-messy.xml", "wordpress-messy.xml"])
def test_a_cut_short_gzip_file_writes_nothing(runner, site, tmp_path, name):
    packed = gzip.compress((DATA / name).read_bytes())
    path = tmp_path / "export.xml.gz"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "export.xml.gz: the gzip file is damaged or cut short" in result.output
    assert counts() == (0, 0)


def test_a_cut_short_gzip_json_export_writes_nothing(runner, site, tmp_path):
    document = {"format": "discuss-export", "version": 1, "site": "x",
                "threads": [{"key": f"k{n}", "comments": []} for n in range(500)]}
    packed = gzip.compress(json.dumps(document).encode())
    path = tmp_path / "export.json.gz"
    path.write_bytes(packed[: len(packed) // 2])
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "export.json.gz: the gzip file is damaged or cut short" in result.output
    assert counts() == (0, 0)


@pytest.mark.parametrize(("content", "message"), [
    (b"hello, world", "not a discuss JSON export, a Disqus or WordPress XML export or an Isso "
                      "database"),
    (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>", "root element is <feed>"),
    (b"<rss version='2.0'><channel><item/></channel></rss>", "not a WordPress export"),
    (b"", "its content is none of these"),
])
def test_a_file_that_is_no_export_is_refused_by_name(runner, site, tmp_path, content, message):
    path = tmp_path / "mystery.bin"
    path.write_bytes(content)
    result = run_import(runner, path)
    assert result.exit_code != 0
    assert "mystery.bin: " in result.output
    assert message in result.output
    assert counts() == (0, 0)


def test_the_wrong_format_given_by_hand_is_refused(runner, site):
    result = run_import(runner, DATA / "wordpress-messy.xml", "--format", "disqus")
    assert result.exit_code != 0
    assert "the root element is <rss>, not <disqus>" in result.output
    result = run_import(runner, DATA / "disqus-messy.xml", "--format", "isso")
    assert result.exit_code != 0
    assert "Isso database" in result.output
    assert counts() == (0, 0)


def test_an_unknown_site_is_refused_before_reading(runner, site):
    result = run_import(runner, DATA / "disqus-messy.xml", slug="nope")
    assert result.exit_code != 0
    assert "No such site" in result.output
