"""Reading an XML export safely and in bounded memory.

defusedxml refuses a DTD (and with it entity expansion such as "billion laughs" and external
entities that read other files or URLs). The tree is streamed with iterparse: each record
element is handed over whole, then cleared, so a 100 MB file never sits in memory. A file that
is not well-formed stops the import with the line and column where it broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from discuss.importers.core import ImportFailed
from discuss.importers.source import GZIP_ERRORS

REFUSED = ("XML with a DTD (<!DOCTYPE …>) is refused: a DTD can declare entities that expand "
           "without bound or read other files and URLs, and no Disqus or WordPress export has one.")


def local(tag: object) -> str:
    """``{http://disqus.com}post`` → ``post``."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def child(element: Element, name: str) -> Element | None:
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def text(element: Element, name: str) -> str:
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def attribute(element: Element | None, name: str) -> str:
    """An attribute by its local name (``dsq:id`` → ``id``)."""
    if element is None:
        return ""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value.strip()
    return ""


def is_true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")


def records(stream: BinaryIO, *, root: str, depth: int, name: str) -> Iterator[Element]:
    """Each element ``depth`` levels below the root (``root`` by local name), whole; it is
    cleared once the caller has read it."""
    parents: list[Element] = []
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True,
                                        forbid_entities=True, forbid_external=True):
            if event == "start":
                if not parents and local(element.tag) != root:
                    raise ImportFailed(f"{name}: the root element is <{local(element.tag)}>, "
                                       f"not <{root}>.")
                parents.append(element)
                continue
            parents.pop()
            if len(parents) == depth:
                yield element
                parents[-1].clear()  # drops the record (and the empty ones before it)
    except ParseError as exc:
        line, column = exc.position
        raise ImportFailed(f"{name}: line {line}, column {column}: the XML is not well-formed "
                           f"({str(exc).split(':')[0]}).") from exc
    except DTDForbidden as exc:
        raise ImportFailed(f"{name}: {REFUSED}") from exc
    except EntitiesForbidden as exc:
        raise ImportFailed(f"{name}: XML declaring entities ({exc.name}) is refused.") from exc
    except ExternalReferenceForbidden as exc:
        raise ImportFailed(f"{name}: XML referring to an external entity ({exc.sysid}) is "
                           "refused.") from exc
    except GZIP_ERRORS as exc:
        raise ImportFailed(f"{name}: the gzip file is damaged or cut short ({exc}).") from exc
    if parents:
        raise ImportFailed(f"{name}: the file ends inside <{local(parents[-1].tag)}>.")
