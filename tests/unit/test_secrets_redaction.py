"""The redactor masks registered values in text, log records and exceptions."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from etl_cli.errors import RunError
from etl_cli.secrets.redaction import MASK, Redactor

SECRET = "pa55:w/rd&more"


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.register(SECRET)
    return r


def test_masks_a_value_in_a_message(redactor: Redactor) -> None:
    assert redactor.mask(f"login as etl with {SECRET} failed") == f"login as etl with {MASK} failed"


def test_masks_the_url_encoded_form(redactor: Redactor) -> None:
    url = f"jdbc:postgresql://db/x?password={quote(SECRET, safe='')}"
    assert SECRET not in redactor.mask(url) and quote(SECRET, safe="") not in redactor.mask(url)


def test_masks_the_json_escaped_form() -> None:
    redactor = Redactor()
    redactor.register('quo"te\\slash')
    assert redactor.mask('{"password": "quo\\"te\\\\slash"}') == f'{{"password": "{MASK}"}}'


def test_a_longer_value_containing_a_shorter_one_is_masked_whole() -> None:
    redactor = Redactor()
    redactor.register("abcd")
    redactor.register("abcdefgh")
    assert redactor.mask("x abcdefgh y") == f"x {MASK} y"


def test_empty_values_are_never_registered() -> None:
    redactor = Redactor()
    redactor.register("")
    assert len(redactor) == 0
    assert redactor.mask("nothing to hide") == "nothing to hide"


def test_log_records_are_masked_through_a_handler_filter(redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("etl_cli.test.redaction")
    caplog.handler.addFilter(redactor.filter())
    logger.warning("connecting with %s", SECRET)
    logger.warning(f"plain f-string {SECRET}")
    assert SECRET not in caplog.text
    assert caplog.text.count(MASK) == 2


def test_tracebacks_in_log_records_are_masked(redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(redactor.filter())
    try:
        raise ValueError(f"bad password {SECRET}")
    except ValueError:
        logging.getLogger("etl_cli.test.redaction").exception("stage failed")
    assert SECRET not in caplog.text
    assert f"bad password {MASK}" in caplog.text


def test_install_adds_the_filter_to_every_handler_of_a_logger(redactor: Redactor) -> None:
    logger = logging.getLogger("etl_cli.test.install")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger.addHandler(Collect())
    redactor.install(logger)
    logger.error("value=%s", SECRET)
    assert records == [f"value={MASK}"]


def test_exception_messages_hints_and_causes_are_scrubbed(redactor: Redactor) -> None:
    try:
        try:
            raise ConnectionError(f"auth failed for {SECRET}")
        except ConnectionError as cause:
            raise RunError(f"stage failed: {SECRET}", hint=f"retry with {SECRET}") from cause
    except RunError as exc:
        redactor.scrub_exception(exc)
        assert SECRET not in str(exc)
        assert SECRET not in str(exc.__cause__)
        assert exc.message == f"stage failed: {MASK}"


def test_guard_scrubs_any_exception_leaving_the_block(redactor: Redactor) -> None:
    with pytest.raises(KeyError) as raised, redactor.guard():
        raise KeyError(f"no such key {SECRET}")
    assert SECRET not in str(raised.value)
    assert MASK in str(raised.value)
