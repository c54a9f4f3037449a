"""Gitea API client: the `gitea` end of the pipeline (fetch Actions logs, post RCA comments).

Invariants:
- Every request carries ``Authorization: token <T>`` and explicit timeouts.
- Only 429 and 5xx answers are retried (tenacity, exponential backoff with jitter, or the
  server's ``Retry-After`` when it sends one, capped); every other failure is immediate.
- A failure surfaces as `GiteaError`, whose message is ONE line: what was attempted and the
  HTTP status (plus a fixed hint). It never contains the token or any part of the response
  body: bodies may echo credentials or internals (the platform's "Rule 8").
- Paths follow the Swagger subset in tests/gitea/gitea-api-subset.json (Gitea 1.24+ for logs).
"""

from __future__ import annotations

import email.utils
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from forensics.output import atomic_file

T = TypeVar("T")

API_PREFIX = "/api/v1"
PAGE_LIMIT = 50            # Gitea's default MAX_RESPONSE_ITEMS; larger limits are silently capped
DEFAULT_TIMEOUT = 30.0     # seconds, per request (connect is shorter)
DEFAULT_ATTEMPTS = 4       # 1 try + 3 retries on 429/5xx
RETRY_AFTER_CAP = 60.0     # never sleep longer than this on one Retry-After
_MAGIC_NAMES = {b"PK": "a zip archive"}
COMMENT_LIMIT = 65_536     # characters; GitHub's documented limit, which we also honour on Gitea

# One fixed hint per status: what the user should check. Knowledge as data, not if-chains.
STATUS_HINTS: dict[int, str] = {
    301: "Gitea redirected; check GITEA_URL (scheme, host, sub-path)",
    302: "Gitea redirected; check GITEA_URL (scheme, host, sub-path)",
    307: "Gitea redirected; check GITEA_URL (scheme, host, sub-path)",
    308: "Gitea redirected; check GITEA_URL (scheme, host, sub-path)",
    400: "Gitea rejected the request",
    401: "check GITEA_TOKEN (missing, expired or wrong instance)",
    403: "the token lacks permission (needs write:issue and read:repository scopes)",
    404: "check the repository, issue, job or run id (and that the token can see it)",
    409: "conflict with the current state on Gitea",
    412: "precondition failed on Gitea",
    413: "the request body is too large for Gitea",
    422: "Gitea rejected the submitted fields",
    423: "the repository is archived (read-only)",
    429: "rate limited by Gitea or its proxy; retries exhausted",
    500: "Gitea internal error; retries exhausted",
    502: "Gitea gateway error; retries exhausted",
    503: "Gitea unavailable (overloaded or in maintenance); retries exhausted",
    504: "Gitea gateway timeout; retries exhausted",
}


class GiteaError(Exception):
    """A failed Gitea call. ``str()`` is one safe line; ``status`` is None for transport errors."""

    def __init__(self, action: str, status: int | None, detail: str, where: str | None = None) -> None:
        self.action = action
        self.status = status
        self.detail = detail
        where = where or (f"HTTP {status}" if status is not None else "no HTTP answer")
        super().__init__(f"Gitea: {action} failed ({where}): {detail}")


class _Retryable(Exception):
    """Internal: a 429/5xx answer, retried by tenacity."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True, slots=True)
class Label:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Issue:
    number: int
    title: str
    state: str
    html_url: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    html_url: str


_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_repo(value: str) -> tuple[str, str]:
    """'owner/repo' -> ('owner', 'repo'); anything else raises ValueError."""
    parts = value.strip().strip("/").split("/")
    if len(parts) != 2 or not all(_NAME_RE.match(p) for p in parts) or any(p in {".", ".."} for p in parts):
        raise ValueError(f"--repo must be OWNER/REPO, got {value!r}")
    return parts[0], parts[1]


def normalize_base_url(url: str) -> str:
    """Accept 'https://host[/sub]' with or without a trailing '/api/v1'; return it without."""
    url = url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValueError("the Gitea URL must start with http:// or https:// and name a host")
    return url


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def _issue(data: dict[str, Any]) -> Issue:
    return Issue(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        state=str(data.get("state") or ""),
        html_url=str(data.get("html_url") or ""),
        labels=tuple(str(lbl.get("name") or "") for lbl in data.get("labels") or ()),
    )


def _label(data: dict[str, Any]) -> Label:
    return Label(id=int(data["id"]), name=str(data["name"]))


def _comment(data: dict[str, Any]) -> Comment:
    return Comment(id=int(data["id"]), body=str(data.get("body") or ""), html_url=str(data.get("html_url") or ""))


class GiteaClient:
    """Thin typed wrapper over the Swagger subset. Use as a context manager."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/json",
                "User-Agent": "forensics-gitea/1",
            },
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=False,
            transport=transport,
        )

    def __enter__(self) -> GiteaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- transport -------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable):
            hinted = parse_retry_after(exc.response.headers.get("Retry-After"))
            if hinted is not None:
                return min(hinted, RETRY_AFTER_CAP)
        exp = self._backoff * (2 ** (state.attempt_number - 1))
        return min(exp, 10.0) + random.uniform(0, self._backoff / 2)

    def request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        params: dict[str, Any] | None = None,
        json: Any = None,
        accept: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One API call with retries on 429/5xx; raises GiteaError (one safe line) otherwise.
        With ``stream=True`` the body is not read: the caller iterates it and closes the response."""
        headers = {"Accept": accept} if accept else None

        def attempt() -> httpx.Response:
            built = self._http.build_request(method, path, params=params, json=json, headers=headers)
            try:
                response = self._http.send(built, stream=stream)
            except httpx.TimeoutException:
                raise GiteaError(action, None, "timed out waiting for Gitea") from None
            except httpx.TransportError as exc:
                raise GiteaError(action, None, f"cannot reach Gitea ({type(exc).__name__})") from None
            if response.status_code == 429 or response.status_code >= 500:
                response.close()
                raise _Retryable(response)
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _Retryable as exc:
            response = exc.response
        if response.status_code not in ok:
            response.close()
            status = response.status_code
            reason = httpx.codes.get_reason_phrase(status) or "error"   # the standard phrase, not the server's
            hint = STATUS_HINTS.get(status, "unexpected answer")
            raise GiteaError(action, status, f"{reason}; {hint}")
        return response

    def download(self, action: str, path: str, out: str | os.PathLike[str], *, accept: str,
                 magic: bytes = b"") -> int:
        """Stream an answer body into ``out`` atomically (temp file + rename); returns the byte count.
        ``magic``: required leading bytes (e.g. b"PK" for a zip), checked before anything is kept."""
        response = self.request(action, "GET", path, accept=accept, stream=True)
        size = 0
        try:
            with atomic_file(out, "wb") as handle:
                try:
                    for chunk in response.iter_bytes():
                        if size == 0 and magic and not chunk.startswith(magic):
                            raise GiteaError(action, response.status_code, f"answer is not {_MAGIC_NAMES.get(magic, 'the expected format')}")
                        handle.write(chunk)
                        size += len(chunk)
                except httpx.TimeoutException:
                    raise GiteaError(action, response.status_code, "timed out while downloading") from None
                except httpx.TransportError as exc:
                    raise GiteaError(action, response.status_code, f"download interrupted ({type(exc).__name__})") from None
                if magic and size == 0:
                    raise GiteaError(action, response.status_code, "answer is empty")
        finally:
            response.close()
        return size

    def _json(self, action: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise GiteaError(action, response.status_code, "answer is not JSON") from None

    def _parse(self, action: str, parse: Callable[[Any], T], data: Any) -> T:
        """Turn one JSON object into a record; a malformed answer is a GiteaError, not a crash."""
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise GiteaError(action, None, "answer does not have the documented shape", where="bad answer") from None

    def _paged(self, action: str, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Walk page=1.. of a bare-array list until a short page or X-Total-Count is reached."""
        page, seen = 1, 0
        while True:
            response = self.request(action, "GET", path, params={**params, "page": page, "limit": PAGE_LIMIT})
            items = self._json(action, response)
            if not isinstance(items, list):
                raise GiteaError(action, response.status_code, "answer is not a JSON list")
            yield from items
            seen += len(items)
            total = response.headers.get("X-Total-Count")
            if not items or len(items) < PAGE_LIMIT or (total and total.isdigit() and seen >= int(total)):
                return
            page += 1

    # ---- labels ----------------------------------------------------------------------------

    def list_labels(self, owner: str, repo: str) -> list[Label]:
        path = f"/repos/{owner}/{repo}/labels"
        return [self._parse("list labels", _label, d) for d in self._paged("list labels", path, {})]

    def create_label(self, owner: str, repo: str, name: str, color: str, description: str = "") -> Label:
        action = f"create label {name!r}"
        body = {"name": name, "color": color, "description": description}
        data = self._json(action, self.request(action, "POST", f"/repos/{owner}/{repo}/labels", ok=(201,), json=body))
        return self._parse(action, _label, data)

    # ---- issues ----------------------------------------------------------------------------

    def list_open_issues(self, owner: str, repo: str, label: str) -> list[Issue]:
        params = {"state": "open", "type": "issues", "labels": label}
        action = "list open issues"
        return [self._parse(action, _issue, d) for d in self._paged(action, f"/repos/{owner}/{repo}/issues", params)]

    def get_issue(self, owner: str, repo: str, number: int) -> Issue:
        action = f"get issue #{number}"
        return self._parse(action, _issue, self._json(action, self.request(action, "GET", f"/repos/{owner}/{repo}/issues/{number}")))

    def create_issue(self, owner: str, repo: str, title: str, body: str, label_ids: list[int]) -> Issue:
        action = "create issue"
        payload = {"title": title, "body": body, "labels": label_ids}
        response = self.request(action, "POST", f"/repos/{owner}/{repo}/issues", ok=(201,), json=payload)
        return self._parse(action, _issue, self._json(action, response))

    def set_issue_state(self, owner: str, repo: str, number: int, state: str) -> Issue:
        """Open or close an issue. Gitea answers PATCH with 201 (not 200)."""
        action = f"{'close' if state == 'closed' else 'reopen'} issue #{number}"
        response = self.request(
            action, "PATCH", f"/repos/{owner}/{repo}/issues/{number}", ok=(201, 200), json={"state": state}
        )
        return self._parse(action, _issue, self._json(action, response))

    # ---- comments --------------------------------------------------------------------------

    def list_comments(self, owner: str, repo: str, number: int) -> list[Comment]:
        action = f"list comments of issue #{number}"
        data = self._json(action, self.request(action, "GET", f"/repos/{owner}/{repo}/issues/{number}/comments"))
        if not isinstance(data, list):
            raise GiteaError(action, 200, "answer is not a JSON list")
        return [self._parse(action, _comment, d) for d in data]

    def create_comment(self, owner: str, repo: str, number: int, body: str) -> Comment:
        action = f"comment on issue #{number}"
        response = self.request(
            action, "POST", f"/repos/{owner}/{repo}/issues/{number}/comments", ok=(201,), json={"body": body}
        )
        return self._parse(action, _comment, self._json(action, response))

    def edit_comment(self, owner: str, repo: str, comment_id: int, body: str) -> Comment:
        action = f"edit comment {comment_id}"
        response = self.request(
            action, "PATCH", f"/repos/{owner}/{repo}/issues/comments/{comment_id}", ok=(200, 201), json={"body": body}
        )
        return self._parse(action, _comment, self._json(action, response))

    # ---- actions logs ----------------------------------------------------------------------

    def download_job_log(self, owner: str, repo: str, job_id: int, out: str | os.PathLike[str]) -> int:
        """Plain-text log of one job (Gitea 1.24+) into ``out``. 404 = unknown job, not started, or expired."""
        action = f"download log of job {job_id}"
        path = f"/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"
        return self.download(action, path, out, accept="text/plain, application/json")

    def download_run_logs(self, owner: str, repo: str, run_id: int, out: str | os.PathLike[str]) -> int:
        """Zip of a run's logs (one `.log` per job) into ``out``."""
        action = f"download logs of run {run_id}"
        path = f"/repos/{owner}/{repo}/actions/runs/{run_id}/logs"
        return self.download(action, path, out, accept="application/zip", magic=b"PK")


def utc_now() -> str:
    """Current UTC time, second precision, trailing Z."""
    return datetime.now(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
