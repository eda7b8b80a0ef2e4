"""Keep uploads, index snapshots and manifests in an S3 bucket shared by every task."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from service.errors import StorageError, storage_failure
from service.storage.base import Manifest, ManifestConflict

T = TypeVar("T")
# Index snapshots kept on local disk. Each is loaded into memory whole, so the copy only
# saves a download; without a bound, a long-lived task would fill its ephemeral storage.
CACHED_SNAPSHOTS = 64
# What S3 answers a conditional request that lost: 412 (If-Match / If-None-Match not met),
# 409 (another conditional write to the key was in flight) or 404 (If-Match, key deleted).
LOST = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404", "412"})


def _lost(exc: ClientError) -> bool:
    """Say whether a conditional request failed because its condition no longer holds."""
    return exc.response.get("Error", {}).get("Code") in LOST


class S3DocumentStore:
    """Documents and FAISS snapshots under s3://DOCUMENT_BUCKET/sessions/<id>/."""

    def __init__(
        self, client: Any, bucket: str, cache_dir: Path, max_cached: int = CACHED_SNAPSHOTS
    ) -> None:
        self.s3 = client
        self.bucket = bucket
        self.cache_dir = Path(cache_dir)  # downloaded snapshots (immutable, keyed by version)
        self.max_cached = max_cached

    def _call(self, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot {what}: {exc}") from exc

    @staticmethod
    def _prefix(session_id: str) -> str:
        return f"sessions/{session_id}/"

    def read_manifest(self, session_id: str) -> Manifest | None:
        """Return the session's manifest (token: its ETag), or None when there is none."""
        key = self._prefix(session_id) + "manifest.json"
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=key)
            body = got["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot read {key}: {exc}") from exc
        manifest = Manifest.from_dict(json.loads(body))
        manifest.token = got["ETag"]
        return manifest

    def write_manifest(self, manifest: Manifest, expected: str | None = None) -> None:
        """Commit a manifest if the stored one is still `expected` (None: if there is none).

        One conditional PUT (If-Match: the ETag read, or If-None-Match: *): S3 makes it
        visible whole or not at all, and refuses it when another writer got there first.
        """
        key = self._prefix(manifest.session_id) + "manifest.json"
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(manifest.to_dict()).encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if _lost(exc):
                raise ManifestConflict(
                    f"session {manifest.session_id!r}: the manifest changed since it was read "
                    f"({exc.response['Error'].get('Code')})"
                ) from exc
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot write {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot write {key}: {exc}") from exc

    def put_document(self, session_id: str, name: str, data: bytes) -> bool:
        """Store an uploaded file under its safe name (If-None-Match: *); False if taken."""
        key = self._prefix(session_id) + f"documents/{name}"
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if _lost(exc):
                return False
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot store {name}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot store {name}: {exc}") from exc
        return True

    def delete_document(self, session_id: str, name: str) -> None:
        """Remove a stored file."""
        key = self._prefix(session_id) + f"documents/{name}"
        self._call(f"delete {name}", self.s3.delete_object, Key=key)

    def put_index(self, session_id: str, version: str, source: Path) -> None:
        """Upload the index files in `source` as snapshot `version`."""
        for path in sorted(Path(source).iterdir()):
            if path.is_file():
                key = self._prefix(session_id) + f"index/{version}/{path.name}"
                self._call("upload the index", self.s3.put_object, Key=key, Body=path.read_bytes())

    def fetch_index(self, session_id: str, version: str) -> Path:
        """Return a local copy of snapshot `version`, downloading it once."""
        target = self.cache_dir / session_id / version
        if target.is_dir():
            try:
                os.utime(target)  # recently used: pruned last
                return target
            except OSError:  # pruned by another thread just now: download it again
                pass
        prefix = self._prefix(session_id) + f"index/{version}/"
        keys = self._keys(prefix)
        if not keys:
            raise StorageError(f"index snapshot {version} of session {session_id!r} is missing")
        staging = target.with_name(f".{version}.{uuid.uuid4().hex}.tmp")
        try:
            staging.mkdir(parents=True)
            for key in keys:
                obj = self._call("download the index", self.s3.get_object, Key=key)
                (staging / key.rsplit("/", 1)[-1]).write_bytes(obj["Body"].read())
            try:
                os.replace(staging, target)
            except OSError:  # another thread got there first: its copy is the same
                if not target.is_dir():
                    raise
        except OSError as exc:  # the local cache under DATA_DIR is full or unwritable
            raise storage_failure(exc, f"cache the index of session {session_id!r}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._prune(keep=target)
        return target

    def _prune(self, keep: Path) -> None:
        """Remove the least recently used snapshots beyond `max_cached` (S3 still has them)."""
        snapshots = []
        for path in self.cache_dir.glob("*/*"):
            try:
                if path.is_dir() and not path.name.startswith(".") and path != keep:
                    snapshots.append((path.stat().st_mtime, path))
            except OSError:  # removed meanwhile
                continue
        snapshots.sort()
        for _, old in snapshots[: max(0, len(snapshots) + 1 - self.max_cached)]:
            shutil.rmtree(old, ignore_errors=True)

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot list {prefix}: {exc}") from exc
        return keys

    def _delete_prefix(self, prefix: str) -> None:
        keys = self._keys(prefix)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self._call(
                "delete objects", self.s3.delete_objects, Delete={"Objects": batch, "Quiet": True}
            )

    def delete_index(self, session_id: str, version: str) -> None:
        """Remove an old snapshot."""
        self._delete_prefix(self._prefix(session_id) + f"index/{version}/")
        shutil.rmtree(self.cache_dir / session_id / version, ignore_errors=True)

    def delete_session(self, session_id: str, expected: str | None = None) -> None:
        """Remove everything stored for a session (manifest first, so it vanishes at once).

        With `expected`, the manifest's DELETE carries If-Match: it is refused, and nothing
        removed (ManifestConflict), when an upload committed meanwhile.
        """
        key = self._prefix(session_id) + "manifest.json"
        condition = {} if expected is None else {"IfMatch": expected}
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key, **condition)
        except ClientError as exc:
            if expected is not None and _lost(exc):
                raise ManifestConflict(
                    f"session {session_id!r}: the manifest changed since it was read"
                ) from exc
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot delete {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot delete {key}: {exc}") from exc
        self._delete_prefix(self._prefix(session_id))
        shutil.rmtree(self.cache_dir / session_id, ignore_errors=True)

    def session_ids(self) -> list[str]:
        """Return the id of every session with an object under sessions/."""
        ids: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix="sessions/", Delimiter="/"):
                ids.extend(p["Prefix"].split("/")[1] for p in page.get("CommonPrefixes", []))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 bucket {self.bucket!r}: cannot list sessions: {exc}") from exc
        return sorted(ids)

    def check(self) -> None:
        """Raise StorageError when the bucket is unreachable."""
        self._call("reach the bucket", self.s3.head_bucket)
