#!/usr/bin/env python3
"""Client-compatibility test of an S3 endpoint: drives it with the real clients, exactly as a user would, and fails
loudly on anything that is wrong.

    s3_clients_test.py --endpoint http://127.0.0.1:PORT --access-key AK --secret-key SK [--region us-east-1]
        [--clients boto3,awscli,rclone,s3cmd] [--tree-files 1000] [--multipart-mib 64] [--work DIR]
        [--lenient-server]

boto3 runs in this process; the `aws` command (PyPI awscli, taken from this interpreter's venv first, then PATH),
rclone and s3cmd (Debian packages) run as subprocesses. Prints one line per check (`ok   ...`, `FAIL ...` with the
reason, and for a failed command its stderr tail), then a summary; exits 0 only if every check passed.

Each client works in its own bucket (`t-<client>-<random>`) that the test creates and deletes. The clients are
configured through environment variables and temporary files only (AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE,
RCLONE_CONFIG, `s3cmd -c FILE`): ~/.aws, ~/.config/rclone and ~/.s3cfg are never read or written. All of them use
path-style addressing.

About the wire formats: over plain http botocore (boto3 and the aws CLI) sends the default CRC32 checksum as an
`x-amz-checksum-crc32` header with a signed payload; only over https does it switch to `aws-chunked` bodies with the
checksum in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER). So that an http endpoint sees that format too, the
"https wire format" checks make boto3 send it over http. A hand-signed STREAMING-AWS4-HMAC-SHA256-PAYLOAD put covers
the signed-chunk format that other SDKs (Java v1, minio-go, ...) send over http.

When awscrt is installed (it is in Tests/python/requirements.txt: CRC32C and CRC64NVME need it), botocore signs with
the CRT signer. boto3 here runs with it; the aws CLI runs with BOTO_DISABLE_CRT=true, as a plain `pip install awscli`
does, so both of botocore's signers are exercised.

--lenient-server turns only the checks that the reference server used to validate this script (moto, which has no
authentication) cannot pass into warnings: signature checking (wrong secret, unknown access key, tampered presigned
URL, tampered signed chunk), presigned-URL expiry, refusing a put whose x-amz-checksum-* does not match, and
?versionId=null on an unversioned bucket (which rclone sends after a multipart upload when the server answered
`x-amz-version-id: null`). Everything else, and all of it without the flag, is strict.
"""

import argparse
import base64
import contextlib
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path
from urllib.parse import quote, unquote_plus, urlsplit

import boto3
import botocore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

try:
    import awscrt
    import awscrt.checksums as crt_checksums
except ImportError:  # CRC32C and CRC64NVME checks then fail with a clear reason
    awscrt = crt_checksums = None

MIB = 1024 * 1024
ALL_CLIENTS = ("boto3", "awscli", "rclone", "s3cmd")
# What a server without authentication cannot do (moto): only these may become warnings, with --lenient-server.
LENIENT_AUTH = "the server does not check signatures"
LENIENT_EXPIRY = "the server does not check presigned-URL expiry"
LENIENT_CHECKSUM = "the server does not verify x-amz-checksum-* values"
LENIENT_VERSION_NULL = ("the server answers x-amz-version-id: null on an unversioned bucket, then refuses"
                        " ?versionId=null (400)")
# Names of the generated trees that must survive every client's listing, encoding and local file naming.
SPECIAL_NAMES = (
    "ünïcødé/日本語 file.txt",
    "ünïcødé/ÄÖÜ äöü ß.txt",
    "with space/a b  c.txt",
    "plus+sign/1+1=2.txt",
    "percent%/100% done.txt",
    "percent%/%20not-a-space.txt",
    "mixed/ä+b c%d&e=f(g)[h]!'@,;.bin",
    "deep/level two/level+three/file with all+%.dat",
)
URI_UNRESERVED = "-_.~"


# --------------------------------------------------------------------------------------------------------------------
# Reporting


class CheckFailed(Exception):
    """A check's expectation that did not hold; its message is the reason printed."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def expect_equal(actual, expected, what):
    if actual != expected:
        raise CheckFailed(f"{what}: expected {shorten(expected)}, got {shorten(actual)}")


def shorten(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def describe(error):
    if isinstance(error, CheckFailed):
        return str(error)
    if isinstance(error, ClientError):
        meta = error.response.get("ResponseMetadata", {})
        code = error.response.get("Error", {}).get("Code")
        message = error.response.get("Error", {}).get("Message")
        return f"{error.operation_name} answered HTTP {meta.get('HTTPStatusCode')} {code}: {message}"
    own_frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == __file__]
    where = f" (at line {own_frames[-1].lineno})" if own_frames else ""
    return f"{type(error).__name__}: {error}{where}"


class Report:
    """Runs checks, prints one line each, and keeps the tally."""

    def __init__(self, lenient):
        self.lenient = lenient
        self.passed, self.failed, self.warned = [], [], []

    @contextlib.contextmanager
    def check(self, name, lenient_reason=None):
        try:
            yield
        except Exception as error:  # every failure of a check, whatever raised it, is reported as that check's
            detail = describe(error)
            if lenient_reason and self.lenient:
                self.warned.append(name)
                self.emit(f"WARN {name}: {detail}  [lenient: {lenient_reason}]")
            else:
                self.failed.append(name)
                self.emit(f"FAIL {name}: {detail}")
        else:
            self.passed.append(name)
            self.emit(f"ok   {name}")

    def note(self, text):
        self.emit(f"     {text}")

    @staticmethod
    def emit(line):
        print(line, flush=True)

    def summary(self):
        print()
        for name in self.failed:
            print(f"failed: {name}")
        for name in self.warned:
            print(f"warned (--lenient-server): {name}")
        skipped = f", {len(self.warned)} skipped" if self.warned else ""
        print(f"s3_clients: {len(self.passed)} passed, {len(self.failed)} failed{skipped}", flush=True)


# --------------------------------------------------------------------------------------------------------------------
# Subprocesses, files and trees


class CommandFailed(CheckFailed):
    pass


def tail(output, lines=15):
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else (output or "")
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in kept) if kept else "    | (no output)"


def run(cmd, *, env, timeout=120, cwd=None, check=True):
    """Runs a client command; a non-zero exit or a timeout fails the check with the command and its stderr tail."""
    cmd = [str(part) for part in cmd]
    try:
        result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        raise CommandFailed(f"timed out after {timeout}s: {shlex.join(cmd)}\n{tail(error.stderr)}") from None
    if check and result.returncode != 0:
        raise CommandFailed(
            f"exit status {result.returncode}: {shlex.join(cmd)}\n{tail(result.stderr or result.stdout)}")
    return result


def text_of(result):
    return result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")


def write_file(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def make_tree(root, count, seed):
    """Writes `count` files of 1 byte..64 KiB (log-uniform sizes) under root: the special names first, the others
    nested up to 3 prefixes deep. Returns {relative path: size}."""
    rng = random.Random(seed)
    names = list(SPECIAL_NAMES[:count])
    index = 0
    while len(names) < count:
        depth = rng.randint(0, 3)
        parts = [f"dir-{rng.randint(0, 4)}" for _ in range(depth)]
        pattern = rng.choice(("file-{:05d}.dat", "file {:05d}.txt", "file+{:05d}%.bin", "fïlé-{:05d}.dat"))
        names.append("/".join(parts + [pattern.format(index)]))
        index += 1
    sizes = {}
    for position, name in enumerate(names):
        if position == 0:
            size = 1
        elif position == 1:
            size = 64 * 1024
        else:
            size = max(1, int(65536 ** rng.random()))
        write_file(root / name, rng.randbytes(size))
        sizes[name] = size
    return sizes


def tree_files(root):
    return {path.relative_to(root).as_posix(): path for path in root.rglob("*") if path.is_file()}


def compare_trees(source, copy):
    """Fails unless copy holds exactly source's files with the same bytes."""
    expected, actual = tree_files(source), tree_files(copy)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    different = sorted(name for name in set(expected) & set(actual)
                       if expected[name].read_bytes() != actual[name].read_bytes())
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[:3]})")
    if extra:
        problems.append(f"{len(extra)} unexpected (e.g. {extra[:3]})")
    if different:
        problems.append(f"{len(different)} with other bytes (e.g. {different[:3]})")
    expect(not problems, f"downloaded tree differs from the source ({len(expected)} files): " + "; ".join(problems))


def clean_environment():
    """The process environment less everything that would point a client at the user's own configuration."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "RCLONE_", "S3CMD", "BOTO_"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


# --------------------------------------------------------------------------------------------------------------------
# Checksums


def b64(raw):
    return base64.b64encode(raw).decode()


def local_checksum(algorithm, data):
    """The base64 value S3 returns in x-amz-checksum-<algorithm> for data."""
    if algorithm == "CRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    if algorithm == "SHA1":
        return b64(hashlib.sha1(data).digest())
    if algorithm == "SHA256":
        return b64(hashlib.sha256(data).digest())
    if crt_checksums is None:
        raise CheckFailed(f"{algorithm} needs the awscrt package (pip install -r Tests/python/requirements.txt)")
    if algorithm == "CRC32C":
        return b64(crt_checksums.crc32c(data).to_bytes(4, "big"))
    if algorithm == "CRC64NVME":
        return b64(crt_checksums.crc64nvme(data).to_bytes(8, "big"))
    raise ValueError(algorithm)


def composite_checksum(algorithm, parts):
    """A multipart object's COMPOSITE checksum: the checksum of the parts' raw checksums, then -N."""
    raw = b"".join(base64.b64decode(local_checksum(algorithm, part)) for part in parts)
    return f"{local_checksum(algorithm, raw)}-{len(parts)}"


def md5_etag(data):
    return f'"{hashlib.md5(data).hexdigest()}"'


def multipart_etag(parts):
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


# --------------------------------------------------------------------------------------------------------------------
# boto3


class RequestLog:
    """Keeps the headers of the last request of each operation a client sent (botocore's before-send event)."""

    def __init__(self, client):
        self.headers = {}
        client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, event_name, **_):
        headers = {key.lower(): value for key, value in request.headers.items()}
        self.headers[event_name.rsplit(".", 1)[-1]] = {
            key: value.decode() if isinstance(value, bytes) else value for key, value in headers.items()}

    def last(self, operation):
        return self.headers.get(operation, {})


def force_trailer_checksum(params, **_):
    """Makes botocore send a streaming put as it does over https: aws-chunked body, checksum in a trailer,
    STREAMING-UNSIGNED-PAYLOAD-TRAILER. (It keeps header checksums over plain http.)"""
    algorithm = params.get("context", {}).get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


class Boto3:
    def __init__(self, args):
        self.args = args

    def client(self, *, checksum_calculation=None, secret_key=None, access_key=None, https_wire_format=False,
               default_signer=False, virtual_host_domain=None):
        """default_signer: no signature_version, as boto3 is used out of the box (it presigns with SigV2 then).
        virtual_host_domain: virtual-host style against the server's --s3-domain (BUCKET.DOMAIN:PORT)."""
        endpoint = self.args.endpoint
        if virtual_host_domain:
            endpoint = f"{urlsplit(endpoint).scheme}://{virtual_host_domain}:{urlsplit(endpoint).port}"
        options = dict(
            signature_version=None if default_signer else "s3v4",
            s3={"addressing_style": "virtual" if virtual_host_domain else "path"},
            connect_timeout=10,
            read_timeout=120,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        if checksum_calculation:
            options["request_checksum_calculation"] = checksum_calculation
        session = boto3.session.Session(
            aws_access_key_id=access_key or self.args.access_key,
            aws_secret_access_key=secret_key or self.args.secret_key,
            region_name=self.args.region,
        )
        client = session.client("s3", endpoint_url=endpoint, config=Config(**options))
        client.request_log = RequestLog(client)
        if https_wire_format and urlsplit(self.args.endpoint).scheme == "http":
            for operation in ("PutObject", "UploadPart"):
                client.meta.events.register(f"before-call.s3.{operation}", force_trailer_checksum)
        return client


def error_of(call):
    """Runs call, which must fail with a ClientError; returns (HTTP status, error code, raw error response)."""
    try:
        call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"].get("Code"), error
    raise CheckFailed("the request succeeded; it should have been refused")


def create_bucket(s3, bucket, region):
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def empty_and_delete_bucket(s3, bucket):
    """Best-effort cleanup after a client's checks: nothing it raises matters any more."""
    with contextlib.suppress(Exception):
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        for upload in uploads:
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    with contextlib.suppress(Exception):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    with contextlib.suppress(Exception):
        s3.delete_bucket(Bucket=bucket)


def bucket_exists(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise


def all_keys(s3, bucket, prefix=""):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def boto3_checks(report, args, work):
    factory = Boto3(args)
    s3 = factory.client()
    bucket = f"t-boto3-{secrets.token_hex(4)}"
    try:
        boto3_bucket_checks(report, args, s3, bucket)
        boto3_object_checks(report, factory.client(), bucket, "SDK default checksums", default_checksums=True)
        boto3_object_checks(report, factory.client(checksum_calculation="when_required"), bucket,
                            "when_required", default_checksums=False)
        boto3_checksum_checks(report, factory.client(), bucket)
        boto3_chunked_checks(report, args, factory, bucket)
        boto3_conditional_checks(report, s3, bucket)
        boto3_listing_checks(report, s3, bucket)
        boto3_copy_and_delete_checks(report, s3, bucket)
        boto3_multipart_checks(report, args, s3, bucket, work)
        boto3_multipart_checksum_checks(report, s3, bucket, work)
        boto3_auth_checks(report, args, factory, s3, bucket, work)
        if args.virtual_host_domain:
            boto3_virtual_host_checks(report, args, factory, s3, bucket)
        boto3_bucket_delete_checks(report, s3, bucket)
    finally:
        empty_and_delete_bucket(s3, bucket)


@contextlib.contextmanager
def resolving(domain, address):
    """Names under domain resolve to address in this process (no DNS or /etc/hosts entry needed)."""
    original = socket.getaddrinfo

    def getaddrinfo(host, *rest, **options):
        if isinstance(host, str) and (host == domain or host.endswith("." + domain)):
            host = address
        return original(host, *rest, **options)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original


def boto3_virtual_host_checks(report, args, factory, s3, bucket):
    """boto3 with addressing_style=virtual against the server's --s3-domain: BUCKET.DOMAIN:PORT/KEY, signed so."""
    address = urlsplit(args.endpoint).hostname
    virtual = factory.client(virtual_host_domain=args.virtual_host_domain)
    sent = []
    virtual.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    key = "virtual host/ünï+%.txt"
    data = os.urandom(100_000)
    with report.check("boto3: virtual-host style (bucket.DOMAIN) put, get, list and delete"), \
            resolving(args.virtual_host_domain, address):
        virtual.put_object(Bucket=bucket, Key=key, Body=data)
        expect(sent and urlsplit(sent[-1]).hostname == f"{bucket}.{args.virtual_host_domain}",
               f"boto3 did not address the bucket as a host name: {sent[-1:]}")
        expect_equal(virtual.get_object(Bucket=bucket, Key=key)["Body"].read(), data, "body read back")
        expect_equal(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), data, "body read back path-style")
        keys = [item["Key"] for item in virtual.list_objects_v2(Bucket=bucket, Prefix="virtual host/").get("Contents", [])]
        expect_equal(keys, [key], "listing")
        url = virtual.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        expect(urlsplit(url).hostname == f"{bucket}.{args.virtual_host_domain}", f"presigned URL {url}")
        virtual.delete_object(Bucket=bucket, Key=key)
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key=key))
        expect_equal(status, 404, "head after the virtual-host delete")


def boto3_bucket_checks(report, args, s3, bucket):
    with report.check("boto3: create_bucket, head_bucket"):
        create_bucket(s3, bucket, args.region)
        head = s3.head_bucket(Bucket=bucket)
        expect_equal(head["ResponseMetadata"]["HTTPStatusCode"], 200, "head_bucket status")
    with report.check("boto3: list_buckets lists the new bucket"):
        names = [item["Name"] for item in s3.list_buckets()["Buckets"]]
        expect(bucket in names, f"{bucket} not in {shorten(names)}")
    with report.check("boto3: get_bucket_location"):
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        allowed = (None, "", "us-east-1") if args.region == "us-east-1" else (args.region,)
        expect(location in allowed, f"LocationConstraint {location!r}, expected one of {allowed}")
    with report.check("boto3: head_bucket of a missing bucket is 404"):
        status, _, _ = error_of(lambda: s3.head_bucket(Bucket=f"{bucket}-missing"))
        expect_equal(status, 404, "status")


def boto3_object_checks(report, s3, bucket, mode, *, default_checksums):
    """put/get/head/delete with metadata and Content-Type, in one checksum mode."""
    label = f"boto3 ({mode})"
    key = f"objects/{'default' if default_checksums else 'when-required'}/round trip ü+%.bin"
    data = random.randbytes(MIB)
    metadata = {"color": "blue", "mixed-case": "Value With Spaces"}
    sent = {}
    with report.check(f"{label}: put/get 1 MiB round trip"):
        put = s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata, ContentType="application/x-s3-test")
        sent = s3.request_log.last("PutObject")
        expect_equal(put["ETag"], md5_etag(data), "ETag of put_object")
        got = s3.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        expect(body == data, f"get_object returned {len(body)} bytes that differ from the {len(data)} put")
        expect_equal(got["ContentLength"], len(data), "Content-Length")
        expect_equal(got["ContentType"], "application/x-s3-test", "Content-Type")
        expect_equal(got["Metadata"], metadata, "x-amz-meta-* metadata")
        expect_equal(got["ETag"], md5_etag(data), "ETag of get_object")
    with report.check(f"{label}: the put carried the checksum this mode implies"):
        checksum_headers = sorted(name for name in sent if name.startswith("x-amz-checksum-"))
        if default_checksums:
            expect(checksum_headers or sent.get("x-amz-trailer"), f"no checksum sent: {sorted(sent)}")
            if checksum_headers:
                expect_equal(sent[checksum_headers[0]], local_checksum("CRC32", data), checksum_headers[0])
        else:
            expect(not checksum_headers, f"unexpected {checksum_headers}")
    with report.check(f"{label}: head_object keeps size, ETag, Content-Type and metadata"):
        head = s3.head_object(Bucket=bucket, Key=key)
        expect_equal(head["ContentLength"], len(data), "Content-Length")
        expect_equal(head["ETag"], md5_etag(data), "ETag")
        expect_equal(head["ContentType"], "application/x-s3-test", "Content-Type")
        expect_equal(head["Metadata"], metadata, "metadata")
        expect("LastModified" in head, "no Last-Modified")
    with report.check(f"{label}: get with Range bytes=10-99 answers 206 with exactly those bytes"):
        ranged = s3.get_object(Bucket=bucket, Key=key, Range="bytes=10-99")
        expect_equal(ranged["ResponseMetadata"]["HTTPStatusCode"], 206, "status")
        expect_equal(ranged["Body"].read(), data[10:100], "body")
        expect_equal(ranged["ContentLength"], 90, "Content-Length")
        expect_equal(ranged.get("ContentRange"), f"bytes 10-99/{len(data)}", "Content-Range")
    with report.check(f"{label}: empty object round trip"):
        s3.put_object(Bucket=bucket, Key=key + ".empty", Body=b"")
        got = s3.get_object(Bucket=bucket, Key=key + ".empty")
        expect_equal(got["Body"].read(), b"", "body")
        expect_equal(got["ETag"], md5_etag(b""), "ETag")
    with report.check(f"{label}: delete_object, then head_object is 404"):
        s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_object(Bucket=bucket, Key=key + ".empty")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key=key))
        expect_equal(status, 404, "head after delete")
        status, code, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key=key))
        expect_equal((status, code), (404, "NoSuchKey"), "get after delete")
    with report.check(f"{label}: delete_object of a missing key succeeds (204)"):
        deleted = s3.delete_object(Bucket=bucket, Key=key + ".never")
        expect_equal(deleted["ResponseMetadata"]["HTTPStatusCode"], 204, "status")


def boto3_checksum_checks(report, s3, bucket):
    """An explicit ChecksumAlgorithm put of each kind; the checksums must match ones computed here."""
    data = random.randbytes(300 * 1024 + 7)
    for algorithm in ("CRC32C", "SHA256", "SHA1", "CRC32", "CRC64NVME"):
        key = f"checksums/{algorithm}.bin"
        member = f"Checksum{algorithm}"
        with report.check(f"boto3: put with ChecksumAlgorithm={algorithm}, get with ChecksumMode=ENABLED"):
            expected = local_checksum(algorithm, data)
            put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
            sent = s3.request_log.last("PutObject")
            expect_equal(sent.get(f"x-amz-checksum-{algorithm.lower()}"), expected, "checksum header sent by boto3")
            expect_equal(put.get(member), expected, f"{member} answered by put_object")
            got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            expect_equal(got["Body"].read(), data, "body")  # botocore also validates the returned checksum
            expect_equal(got.get(member), expected, f"{member} answered by get_object")
            head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            expect_equal(head.get(member), expected, f"{member} answered by head_object")
    with report.check("boto3: a put whose checksum does not match the body is refused (400 BadDigest)",
                      lenient_reason=LENIENT_CHECKSUM):
        wrong = local_checksum("CRC32", b"something else")
        status, code, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="checksums/wrong.bin", Body=data,
                                                         ChecksumCRC32=wrong))
        expect_equal(status, 400, "status")
        expect(code in ("BadDigest", "InvalidRequest", "XAmzContentChecksumMismatch"), f"error code {code}")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="checksums/wrong.bin"))
        expect_equal(status, 404, "the refused object must not exist; head status")


def boto3_chunked_checks(report, args, factory, bucket):
    """aws-chunked bodies: the framing must be decoded, never stored."""
    chunked = factory.client(https_wire_format=True)
    body = b"".join(f"line {number:07d}: the chunk framing must not be stored\n".encode() for number in range(50000))
    for label, data in (("1 KiB", body[:1024]), (f"{len(body) / MIB:.1f} MiB, several chunks", body)):
        key = f"chunked/unsigned trailer {len(data)}.txt"
        with report.check(f"boto3: chunk framing never stored (aws-chunked put of {label})"):
            chunked.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/plain")
            sent = chunked.request_log.last("PutObject")
            expect_equal(sent.get("content-encoding"), "aws-chunked", "Content-Encoding sent")
            expect_equal(sent.get("x-amz-content-sha256"), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-content-sha256")
            got = chunked.get_object(Bucket=bucket, Key=key)
            stored = got["Body"].read()
            expect(b";chunk-signature=" not in stored and b"x-amz-checksum" not in stored,
                   "the stored object contains aws-chunked framing")
            expect(stored == data, f"get returned {len(stored)} bytes, not the {len(data)} put")
            expect_equal(got["ContentLength"], len(data), "Content-Length")
            expect_equal(got["ETag"], md5_etag(data), "ETag")
            expect(got.get("ContentEncoding") in (None, ""), f"Content-Encoding {got.get('ContentEncoding')!r} stored")
            head = chunked.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            expect_equal(head.get("ChecksumCRC32"), local_checksum("CRC32", data), "ChecksumCRC32 of the trailer")
    data = body[: 200 * 1024 + 3]
    key = "chunked/signed chunks ü+%.txt"
    with report.check("raw: signed aws-chunked put (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) stores exactly the body"):
        status, answer = signed_chunked_put(args, bucket, key, data, chunk_size=64 * 1024)
        expect_equal(status, 200, f"status (answer {answer_text(answer)})")
        got = chunked.get_object(Bucket=bucket, Key=key)
        expect(got["Body"].read() == data, "the stored object differs from the body")
        expect_equal(got["ContentLength"], len(data), "Content-Length")
    with report.check("raw: signed aws-chunked put with a tampered chunk is refused 403 SignatureDoesNotMatch",
                      lenient_reason=LENIENT_AUTH):
        status, answer = signed_chunked_put(args, bucket, key + ".tampered", data, chunk_size=64 * 1024, tamper=True)
        expect_equal(status, 403, f"status (answer {answer_text(answer)})")
        expect(b"<Code>SignatureDoesNotMatch</Code>" in answer, f"answer {answer_text(answer)}")


def signed_chunked_put(args, bucket, key, data, *, chunk_size, tamper=False):
    """PUTs data as a SigV4 signed-chunk upload (what the Java SDK v1 and minio-go send over http), by hand."""
    endpoint = urlsplit(args.endpoint)
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{args.region}/s3/aws4_request"
    path = f"/{bucket}/" + quote(key.encode(), safe="/" + URI_UNRESERVED)
    chunks = [data[start:start + chunk_size] for start in range(0, len(data), chunk_size)] + [b""]
    encoded_length = sum(len(f"{len(chunk):x};chunk-signature=".encode()) + 64 + 2 + len(chunk) + 2
                         for chunk in chunks)
    headers = {
        "host": endpoint.netloc,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "content-length": str(encoded_length),
        "content-type": "text/plain",
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", path, "", "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
                           signed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    key_bytes = ("AWS4" + args.secret_key).encode()
    for part in (amz_date[:8], args.region, "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()

    def sign(string_to_sign):
        return hmac.new(key_bytes, string_to_sign.encode(), hashlib.sha256).hexdigest()

    seed = sign("\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]))
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={args.access_key}/{scope}, "
                                f"SignedHeaders={signed}, Signature={seed}")
    payload, previous = bytearray(), seed
    empty_hash = hashlib.sha256(b"").hexdigest()
    for index, chunk in enumerate(chunks):
        previous = sign("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty_hash,
                                   hashlib.sha256(chunk).hexdigest()]))
        if tamper and index == 1:
            chunk = bytes([chunk[0] ^ 1]) + chunk[1:]
        payload += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk + b"\r\n"
    connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=60)
    try:
        connection.request("PUT", path, body=bytes(payload), headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def boto3_conditional_checks(report, s3, bucket):
    key = "conditional/object.txt"
    data = b"conditional requests\n" * 100
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    etag = md5_etag(data)
    with report.check("boto3: ETag of a single-part object is the quoted MD5 hex"):
        expect_equal(s3.head_object(Bucket=bucket, Key=key)["ETag"], etag, "ETag")
    with report.check("boto3: get with If-None-Match of the ETag answers 304"):
        status, code, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=etag))
        expect_equal(status, 304, "status")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key=key, IfNoneMatch=etag))
        expect_equal(status, 304, "head_object status")
    with report.check("boto3: get with If-None-Match of another ETag answers 200"):
        got = s3.get_object(Bucket=bucket, Key=key, IfNoneMatch='"0123456789abcdef0123456789abcdef"')
        expect_equal(got["Body"].read(), data, "body")
    with report.check("boto3: head/get with VersionId=null on an unversioned bucket answers the object",
                      lenient_reason=LENIENT_VERSION_NULL):
        expect_equal(s3.head_object(Bucket=bucket, Key=key, VersionId="null")["ETag"], etag, "ETag of head_object")
        expect_equal(s3.get_object(Bucket=bucket, Key=key, VersionId="null")["Body"].read(), data, "body")
    with report.check("boto3: get with a wrong If-Match answers 412 PreconditionFailed"):
        status, code, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key=key,
                                                         IfMatch='"0123456789abcdef0123456789abcdef"'))
        expect_equal((status, code), (412, "PreconditionFailed"), "answer")
    with report.check("boto3: get with the right If-Match answers 200"):
        expect_equal(s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"].read(), data, "body")


def boto3_listing_checks(report, s3, bucket):
    page_keys = [f"page/key-{number:02d}" for number in range(25)]
    tree_keys = ["tree/a/1.txt", "tree/a/2.txt", "tree/b/1.txt", "tree/c.txt", "tree/d.txt"]
    for key in page_keys + tree_keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    with report.check("boto3: list_objects_v2 with Prefix and Delimiter gives CommonPrefixes"):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="tree/", Delimiter="/")
        expect_equal([item["Prefix"] for item in listing.get("CommonPrefixes", [])], ["tree/a/", "tree/b/"],
                     "CommonPrefixes")
        expect_equal([item["Key"] for item in listing.get("Contents", [])], ["tree/c.txt", "tree/d.txt"], "Contents")
        expect_equal(listing.get("KeyCount"), 4, "KeyCount")
        expect_equal(listing.get("Delimiter"), "/", "Delimiter")
        item = listing["Contents"][0]
        expect_equal(item["Size"], len(b"tree/c.txt"), "Size")
        expect_equal(item["ETag"], md5_etag(b"tree/c.txt"), "ETag in the listing")
    with report.check("boto3: list_objects_v2 paging: 25 keys, MaxKeys=10, continuation tokens"):
        seen, token, pages = [], None, 0
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = s3.list_objects_v2(Bucket=bucket, Prefix="page/", MaxKeys=10, **extra)
            pages += 1
            keys = [item["Key"] for item in page.get("Contents", [])]
            expect(len(keys) <= 10, f"page {pages} has {len(keys)} keys")
            expect_equal(page.get("KeyCount"), len(keys), f"KeyCount of page {pages}")
            seen += keys
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
            expect(token, f"page {pages} is truncated but has no NextContinuationToken")
            expect(pages < 10, "more than 10 pages")
        expect_equal(pages, 3, "pages")
        expect_equal(seen, page_keys, "keys over all pages")
    with report.check("boto3: list_objects_v2 with StartAfter"):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="page/", StartAfter="page/key-19")
        expect_equal([item["Key"] for item in listing.get("Contents", [])], page_keys[20:], "keys")
    with report.check("boto3: list_objects (V1) paging with Marker"):
        first = s3.list_objects(Bucket=bucket, Prefix="page/", Marker="page/key-09", MaxKeys=10)
        expect_equal([item["Key"] for item in first.get("Contents", [])], page_keys[10:20], "keys after the Marker")
        expect_equal(first.get("IsTruncated"), True, "IsTruncated")
        seen, marker = [], ""
        for _ in range(10):
            page = s3.list_objects(Bucket=bucket, Prefix="page/", Marker=marker, MaxKeys=10)
            keys = [item["Key"] for item in page.get("Contents", [])]
            seen += keys
            if not page.get("IsTruncated"):
                break
            marker = page.get("NextMarker") or keys[-1]
        expect_equal(seen, page_keys, "keys over all pages")
    with report.check("boto3: list_objects (V1) with Delimiter gives CommonPrefixes"):
        listing = s3.list_objects(Bucket=bucket, Prefix="tree/", Delimiter="/")
        expect_equal([item["Prefix"] for item in listing.get("CommonPrefixes", [])], ["tree/a/", "tree/b/"],
                     "CommonPrefixes")
    special = [f"encoding/{name}" for name in SPECIAL_NAMES]
    for key in special:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    with report.check("boto3: list_objects_v2 EncodingType=url encodes keys, prefixes and delimiters"):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="encoding/", EncodingType="url")
        encoded = [item["Key"] for item in listing.get("Contents", [])]
        expect(all(key.isascii() and " " not in key for key in encoded), f"keys not url-encoded: {encoded[:3]}")
        expect_equal(sorted(unquote_plus(key) for key in encoded), sorted(special), "decoded keys")
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="encoding/", Delimiter="/", EncodingType="url")
        prefixes = [unquote_plus(item["Prefix"]) for item in listing.get("CommonPrefixes", [])]
        expected_prefixes = sorted({"encoding/" + name.split("/")[0] + "/" for name in SPECIAL_NAMES})
        expect_equal(sorted(prefixes), expected_prefixes, "decoded CommonPrefixes")
    with report.check("boto3: keys with unicode, spaces, + and % list back as written"):
        # boto3 asks for EncodingType=url by itself here and decodes the answer
        expect_equal(sorted(all_keys(s3, bucket, "encoding/")), sorted(special), "keys")
        for key in special[:3]:
            expect_equal(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), b"x", f"body of {key!r}")


def boto3_copy_and_delete_checks(report, s3, bucket):
    source = "copy/source ü+%.txt"
    data = b"copy me\n" * 1000
    s3.put_object(Bucket=bucket, Key=source, Body=data, Metadata={"origin": "source"}, ContentType="text/x-source")
    with report.check("boto3: copy_object with MetadataDirective COPY keeps body, type and metadata"):
        s3.copy_object(Bucket=bucket, Key="copy/copied.txt", CopySource={"Bucket": bucket, "Key": source},
                       MetadataDirective="COPY")
        got = s3.get_object(Bucket=bucket, Key="copy/copied.txt")
        expect_equal(got["Body"].read(), data, "body")
        expect_equal(got["Metadata"], {"origin": "source"}, "metadata")
        expect_equal(got["ContentType"], "text/x-source", "Content-Type")
        expect_equal(got["ETag"], md5_etag(data), "ETag")
    with report.check("boto3: copy_object with MetadataDirective REPLACE sets the new type and metadata"):
        s3.copy_object(Bucket=bucket, Key="copy/replaced.txt", CopySource={"Bucket": bucket, "Key": source},
                       MetadataDirective="REPLACE", Metadata={"origin": "replaced"}, ContentType="text/x-replaced")
        got = s3.get_object(Bucket=bucket, Key="copy/replaced.txt")
        expect_equal(got["Body"].read(), data, "body")
        expect_equal(got["Metadata"], {"origin": "replaced"}, "metadata")
        expect_equal(got["ContentType"], "text/x-replaced", "Content-Type")
    keys = [f"bulk/delete {number}+%.txt" for number in range(6)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"delete me")
    with report.check("boto3: delete_objects of several keys (one missing) deletes them all"):
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[:5]]
                                                          + [{"Key": "bulk/never existed"}]})
        expect_equal(answer.get("Errors", []), [], "Errors")
        expect_equal(sorted(item["Key"] for item in answer.get("Deleted", [])),
                     sorted(keys[:5] + ["bulk/never existed"]), "Deleted")
        expect_equal(all_keys(s3, bucket, "bulk/"), [keys[5]], "keys left")
    with report.check("boto3: delete_objects with Quiet=true"):
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": keys[5]}], "Quiet": True})
        expect_equal(answer.get("Errors", []), [], "Errors")
        expect_equal(all_keys(s3, bucket, "bulk/"), [], "keys left")


def boto3_multipart_checks(report, args, s3, bucket, work):
    key = "multipart/big object ü.bin"
    part_size = 8 * MIB
    total = args.multipart_mib * MIB
    data = os.urandom(total)
    parts = [data[start:start + part_size] for start in range(0, total, part_size)]
    upload_id = None
    with report.check(f"boto3: multipart upload of {args.multipart_mib} MiB in {len(parts)} parts of 8 MiB"):
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-big",
                                               Metadata={"kind": "multipart"})["UploadId"]
        done = []
        for number, part in enumerate(parts, start=1):
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part)
            expect_equal(answer["ETag"], md5_etag(part), f"ETag of part {number}")
            done.append({"PartNumber": number, "ETag": answer["ETag"]})
    with report.check("boto3: list_parts lists every part with its size and ETag"):
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
        expect_equal([(item["PartNumber"], item["Size"], item["ETag"]) for item in listed.get("Parts", [])],
                     [(number, len(part), md5_etag(part)) for number, part in enumerate(parts, start=1)], "parts")
    with report.check("boto3: list_multipart_uploads lists the upload in progress"):
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        expect((key, upload_id) in [(item["Key"], item["UploadId"]) for item in uploads],
               f"upload {upload_id} not in {shorten(uploads)}")
    with report.check("boto3: complete_multipart_upload, ETag is md5 of the part md5s -N"):
        answer = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": done})
        expect_equal(answer["ETag"], multipart_etag(parts), "ETag answered")
        head = s3.head_object(Bucket=bucket, Key=key)
        expect_equal(head["ETag"], multipart_etag(parts), "ETag of head_object")
        expect_equal(head["ContentLength"], total, "Content-Length")
        expect_equal(head["ContentType"], "application/x-big", "Content-Type")
        expect_equal(head["Metadata"], {"kind": "multipart"}, "metadata")
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        expect(upload_id not in [item["UploadId"] for item in uploads], "the completed upload is still listed")
    with report.check(f"boto3: download of the {args.multipart_mib} MiB object has the same SHA-256"):
        target = work / "boto3-multipart.bin"
        s3.download_file(bucket, key, str(target))
        expect_equal(sha256_file(target), hashlib.sha256(data).hexdigest(), "SHA-256")
        target.unlink()
        ranged = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={part_size - 5}-{part_size + 4}")
        expect_equal(ranged["Body"].read(), data[part_size - 5:part_size + 5], "range across the first part boundary")
    with report.check("boto3: get_object and head_object by PartNumber give that part, with the parts count"):
        head = s3.head_object(Bucket=bucket, Key=key, PartNumber=len(parts))
        expect_equal((head["ContentLength"], head.get("PartsCount")), (len(parts[-1]), len(parts)), "last part's head")
        got = s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
        expect_equal(got["Body"].read(), parts[1], "part 2's bytes")
        status, code, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key=key, PartNumber=len(parts) + 1))
        expect_equal(status, 416, "status of a part beyond the last")
    with report.check("boto3: abort_multipart_upload leaves no upload listed"):
        aborted_key = "multipart/aborted.bin"
        aborted = s3.create_multipart_upload(Bucket=bucket, Key=aborted_key)["UploadId"]
        s3.upload_part(Bucket=bucket, Key=aborted_key, UploadId=aborted, PartNumber=1, Body=b"a" * 1024)
        s3.abort_multipart_upload(Bucket=bucket, Key=aborted_key, UploadId=aborted)
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        expect_equal([item["UploadId"] for item in uploads if item["Key"] == aborted_key], [], "uploads listed")
        status, code, _ = error_of(lambda: s3.list_parts(Bucket=bucket, Key=aborted_key, UploadId=aborted))
        expect_equal((status, code), (404, "NoSuchUpload"), "list_parts of the aborted upload")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key=aborted_key))
        expect_equal(status, 404, "head_object of the aborted key")
    with report.check("boto3: upload_file (s3transfer: 20 MiB, 5 MiB parts, 4 threads) round trip"):
        source = write_file(work / "boto3-transfer.bin", os.urandom(20 * MIB))
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                                                  max_concurrency=4)
        s3.upload_file(str(source), bucket, "multipart/transfer.bin", Config=config)
        target = work / "boto3-transfer.out"
        s3.download_file(bucket, "multipart/transfer.bin", str(target), Config=config)
        expect_equal(sha256_file(target), sha256_file(source), "SHA-256")
        expect(s3.head_object(Bucket=bucket, Key="multipart/transfer.bin")["ETag"].endswith('-4"'),
               "the ETag does not name 4 parts")


def boto3_multipart_checksum_checks(report, s3, bucket, work):
    """Multipart objects' checksums: COMPOSITE (s3transfer's default CRC32) and FULL_OBJECT (a whole-object CRC the
    client gives, or CRC64NVME), each checked against values computed here from the bytes."""
    data = os.urandom(12 * MIB + 333)
    parts = [data[start:start + 5 * MIB] for start in range(0, len(data), 5 * MIB)]
    source = write_file(work / "boto3-checksums.bin", data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=3)
    composite_key = "multipart/composite.bin"
    with report.check("boto3: upload_file's default multipart CRC32 is COMPOSITE, crc32(part CRC32s)-N, on head and get"):
        s3.upload_file(str(source), bucket, composite_key, Config=config)
        expected = composite_checksum("CRC32", parts)
        head = s3.head_object(Bucket=bucket, Key=composite_key, ChecksumMode="ENABLED")
        expect_equal(head.get("ChecksumCRC32"), expected, "ChecksumCRC32 of head_object")
        expect_equal(head.get("ChecksumType"), "COMPOSITE", "ChecksumType of head_object")
        got = s3.get_object(Bucket=bucket, Key=composite_key, ChecksumMode="ENABLED")
        expect_equal(got["Body"].read(), data, "body")
        expect_equal(got.get("ChecksumCRC32"), expected, "ChecksumCRC32 of get_object")
    with report.check("boto3: a whole-object CRC32 given to upload_file is checked at completion and kept (FULL_OBJECT)"):
        whole = local_checksum("CRC32", data)
        s3.upload_file(str(source), bucket, "multipart/full.bin", Config=config, ExtraArgs={"ChecksumCRC32": whole})
        head = s3.head_object(Bucket=bucket, Key="multipart/full.bin", ChecksumMode="ENABLED")
        expect_equal(head.get("ChecksumCRC32"), whole, "ChecksumCRC32 of head_object")
        expect_equal(head.get("ChecksumType"), "FULL_OBJECT", "ChecksumType of head_object")
        got = s3.get_object(Bucket=bucket, Key="multipart/full.bin", ChecksumMode="ENABLED")
        expect_equal(got["Body"].read(), data, "body")  # botocore checks the whole CRC32 as it reads
    with report.check("boto3: a wrong whole-object CRC32 fails the completion with BadDigest and stores nothing"):
        wrong = local_checksum("CRC32", b"not these bytes")
        try:
            s3.upload_file(str(source), bucket, "multipart/wrong-full.bin", Config=config,
                           ExtraArgs={"ChecksumCRC32": wrong})
            raise CheckFailed("the upload with a wrong whole-object CRC32 succeeded")
        except boto3.exceptions.S3UploadFailedError as error:
            expect("BadDigest" in str(error), f"error {shorten(str(error))}")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="multipart/wrong-full.bin"))
        expect_equal(status, 404, "head_object of the refused object")
    with report.check("boto3: CRC64NVME multipart is FULL_OBJECT by default; parts listed with their CRC64NVME"):
        key = "multipart/crc64nvme.bin"
        created = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC64NVME")
        expect_equal((created.get("ChecksumAlgorithm"), created.get("ChecksumType")), ("CRC64NVME", "FULL_OBJECT"),
                     "algorithm and type answered by create_multipart_upload")
        upload_id = created["UploadId"]
        done = []
        for number, part in enumerate(parts, start=1):
            answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part,
                                    ChecksumAlgorithm="CRC64NVME")
            expect_equal(answer.get("ChecksumCRC64NVME"), local_checksum("CRC64NVME", part), f"part {number}")
            done.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC64NVME": answer["ChecksumCRC64NVME"]})
        listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
        expect_equal([item.get("ChecksumCRC64NVME") for item in listed["Parts"]],
                     [local_checksum("CRC64NVME", part) for part in parts], "part checksums listed")
        expect_equal(listed.get("ChecksumType"), "FULL_OBJECT", "ChecksumType of list_parts")
        answer = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": done})
        expect_equal(answer.get("ChecksumCRC64NVME"), local_checksum("CRC64NVME", data), "CRC64NVME of the whole object")
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        expect_equal(got["Body"].read(), data, "body")
    with report.check("boto3: a part sent with another algorithm than the upload's is refused"):
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key="multipart/mixed.bin", ChecksumAlgorithm="SHA256")[
            "UploadId"]
        status, code, _ = error_of(lambda: s3.upload_part(Bucket=bucket, Key="multipart/mixed.bin", UploadId=upload_id,
                                                          PartNumber=1, Body=b"x" * 1024, ChecksumAlgorithm="CRC32"))
        expect_equal((status, code), (400, "InvalidRequest"), "status and code")
        s3.abort_multipart_upload(Bucket=bucket, Key="multipart/mixed.bin", UploadId=upload_id)
    with report.check("boto3: a copy of a COMPOSITE object carries the CRC32 of its whole bytes"):
        s3.copy_object(Bucket=bucket, Key="multipart/composite-copy.bin",
                       CopySource={"Bucket": bucket, "Key": composite_key})
        head = s3.head_object(Bucket=bucket, Key="multipart/composite-copy.bin", ChecksumMode="ENABLED")
        expect_equal(head.get("ChecksumCRC32"), local_checksum("CRC32", data), "ChecksumCRC32 of the copy")
    source.unlink()


def answer_text(answer):
    """A response body for a failure message: the start of an XML error, or just its size."""
    return repr(answer[:300]) if answer.lstrip().startswith(b"<") else f"{len(answer)} bytes of data"


def curl(url, target, timeout=30):
    result = subprocess.run(["curl", "-sS", "-o", str(target), "-w", "%{http_code}", "--max-time", str(timeout), url],
                            capture_output=True, timeout=timeout + 5)
    if result.returncode != 0:
        raise CommandFailed(f"curl exit status {result.returncode}\n{tail(result.stderr)}")
    return int(result.stdout.decode().strip())


def boto3_auth_checks(report, args, factory, s3, bucket, work):
    key = "presigned/object ü+%.bin"
    data = os.urandom(100 * 1024)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    with report.check("boto3: presigned GET URL (ExpiresIn=60) fetched with curl returns the bytes"):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        target = work / "presigned.bin"
        status = curl(url, target)
        expect_equal(status, 200, f"status (answer {answer_text(target.read_bytes())})")
        expect(target.read_bytes() == data, "the bytes differ")
    with report.check("boto3: presigned PUT URL uploads with curl"):
        url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key + ".put"}, ExpiresIn=60)
        source = write_file(work / "presigned-put.bin", data[:5000])
        result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
                                 "-X", "PUT", "--data-binary", f"@{source}", "-H", "Content-Type:", url],
                                capture_output=True, timeout=35)
        expect_equal(result.stdout.decode().strip(), "200", "status")
        expect_equal(s3.get_object(Bucket=bucket, Key=key + ".put")["Body"].read(), data[:5000], "stored bytes")
    def expect_refused(url, code, label):
        """curl of url must answer 403 with S3's error code."""
        target = work / f"refused-{label}.xml"
        status = curl(url, target)
        answer = target.read_bytes()
        expect_equal(status, 403, f"{label}: status (answer {answer_text(answer)})")
        expect(f"<Code>{code}</Code>".encode() in answer, f"{label}: answer {answer_text(answer)}")

    with report.check("boto3: presigned URL with ExpiresIn=1 fetched after 2 s is refused 403 AccessDenied",
                      lenient_reason=LENIENT_EXPIRY):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
        time.sleep(2.5)
        expect_refused(url, "AccessDenied", "expired")
    with report.check("boto3: presigned URL with a tampered signature is refused 403", lenient_reason=LENIENT_AUTH):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        signature = url.rsplit("X-Amz-Signature=", 1)[1][:64]
        tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
        expect_refused(tampered, "SignatureDoesNotMatch", "tampered")
    # Out of the box (no signature_version), boto3 presigns S3 URLs with Signature Version 2 in us-east-1.
    plain = factory.client(default_signer=True)
    with report.check("boto3 default signer: presigned GET URL (Signature Version 2) fetched with curl returns the bytes"):
        url = plain.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        expect("AWSAccessKeyId=" in url and "X-Amz-" not in url, f"not a Signature Version 2 URL: {url}")
        target = work / "presigned-v2.bin"
        status = curl(url, target)
        expect_equal(status, 200, f"status (answer {answer_text(target.read_bytes())})")
        expect(target.read_bytes() == data, "the bytes differ")
    with report.check("boto3 default signer: presigned PUT URL (Signature Version 2) with Content-Type uploads with curl"):
        url = plain.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key + ".v2", "ContentType": "text/plain"}, ExpiresIn=60)
        source = write_file(work / "presigned-put-v2.bin", data[:7000])
        result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
                                 "-X", "PUT", "--data-binary", f"@{source}", "-H", "Content-Type: text/plain", url],
                                capture_output=True, timeout=35)
        expect_equal(result.stdout.decode().strip(), "200", "status")
        stored = s3.get_object(Bucket=bucket, Key=key + ".v2")
        expect_equal(stored["Body"].read(), data[:7000], "stored bytes")
        expect_equal(stored["ContentType"], "text/plain", "stored Content-Type")
    with report.check("boto3 default signer: an expired or tampered Signature Version 2 URL is refused 403",
                      lenient_reason=LENIENT_AUTH):
        url = plain.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
        time.sleep(2.5)
        expect_refused(url, "AccessDenied", "expired-v2")
        url = plain.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        expect_refused(url.replace(urlsplit(url).path, urlsplit(url).path + "x"), "SignatureDoesNotMatch", "tampered-v2")
    with report.check("boto3: a request signed with a wrong secret is refused 403 SignatureDoesNotMatch",
                      lenient_reason=LENIENT_AUTH):
        wrong = factory.client(secret_key=args.secret_key + "-wrong")
        status, code, _ = error_of(lambda: wrong.list_objects_v2(Bucket=bucket))
        expect_equal((status, code), (403, "SignatureDoesNotMatch"), "list_objects_v2")
        status, code, _ = error_of(lambda: wrong.put_object(Bucket=bucket, Key="presigned/forged", Body=b"forged"))
        expect_equal((status, code), (403, "SignatureDoesNotMatch"), "put_object")
        status, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="presigned/forged"))
        expect_equal(status, 404, "the refused put must store nothing; head status")
    with report.check("boto3: a request with an unknown access key is refused 403", lenient_reason=LENIENT_AUTH):
        stranger = factory.client(access_key="AKIDUNKNOWN" + secrets.token_hex(4).upper())
        status, code, _ = error_of(lambda: stranger.list_objects_v2(Bucket=bucket))
        expect_equal(status, 403, "status")
        expect(code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"), f"error code {code}")


def boto3_bucket_delete_checks(report, s3, bucket):
    with report.check("boto3: delete_bucket of a non-empty bucket is refused 409 BucketNotEmpty"):
        s3.put_object(Bucket=bucket, Key="last/object", Body=b"x")
        status, code, _ = error_of(lambda: s3.delete_bucket(Bucket=bucket))
        expect_equal((status, code), (409, "BucketNotEmpty"), "answer")
    with report.check("boto3: delete_bucket of the emptied bucket, then head_bucket is 404"):
        empty_and_delete_bucket(s3, bucket)
        expect(not bucket_exists(s3, bucket), "the bucket still exists")
        names = [item["Name"] for item in s3.list_buckets()["Buckets"]]
        expect(bucket not in names, "list_buckets still lists it")


# --------------------------------------------------------------------------------------------------------------------
# aws CLI


def aws_command():
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("aws")
    if not found:
        raise CheckFailed("the aws command (PyPI awscli) is not installed")
    return [found]


def awscli_checks(report, args, work, admin):
    config, credentials = work / "aws-config", work / "aws-credentials"
    config.write_text(f"[default]\nregion = {args.region}\ns3 =\n    addressing_style = path\n")
    credentials.write_text(f"[default]\naws_access_key_id = {args.access_key}\n"
                           f"aws_secret_access_key = {args.secret_key}\n")
    env = clean_environment()
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials),
               AWS_REQUEST_CHECKSUM_CALCULATION="when_supported", BOTO_DISABLE_CRT="true", AWS_PAGER="")
    bucket = f"t-awscli-{secrets.token_hex(4)}"

    def aws(*arguments, timeout=120, environment=env):
        return run(aws_command() + ["--endpoint-url", args.endpoint, *arguments], env=environment, timeout=timeout)

    try:
        with report.check("awscli: aws --version"):
            version = text_of(aws("--version")).strip()
            report.note(version)
        with report.check("awscli: aws s3 mb"):
            aws("s3", "mb", f"s3://{bucket}")
            expect(bucket_exists(admin, bucket), "the bucket does not exist afterwards")
        with report.check("awscli: aws s3 ls lists the bucket"):
            expect(bucket in text_of(aws("s3", "ls")).split(), "bucket not listed")
        awscli_copy_checks(report, aws, env, work, bucket)
        awscli_sync_checks(report, args, aws, work, bucket, admin)
        with report.check("awscli: aws s3api put-object / get-object"):
            source = write_file(work / "s3api.txt", b"s3api round trip\n" * 500)
            key = "api/object ü.txt"
            put = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", key, "--body", source,
                                 "--content-type", "text/x-s3api", "--metadata", "origin=s3api").stdout)
            expect_equal(put.get("ETag"), md5_etag(source.read_bytes()), "ETag")
            target = work / "s3api.out"
            got = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", key, target).stdout)
            expect_equal(target.read_bytes(), source.read_bytes(), "downloaded bytes")
            expect_equal(got.get("Metadata"), {"origin": "s3api"}, "Metadata")
            expect_equal(got.get("ContentType"), "text/x-s3api", "ContentType")
            expect_equal(got.get("ContentLength"), len(source.read_bytes()), "ContentLength")
        with report.check("awscli: aws s3 rm --recursive empties the bucket"):
            aws("s3", "rm", "--recursive", f"s3://{bucket}/", timeout=300)
            expect_equal(all_keys(admin, bucket), [], "keys left")
        with report.check("awscli: aws s3 rb"):
            aws("s3", "rb", f"s3://{bucket}")
            expect(not bucket_exists(admin, bucket), "the bucket still exists")
    finally:
        empty_and_delete_bucket(admin, bucket)


def awscli_copy_checks(report, aws, env, work, bucket):
    small = write_file(work / "awscli/small file.bin", os.urandom(MIB))
    large = write_file(work / "awscli/large file.bin", os.urandom(20 * MIB))
    for label, source in (("1 MiB", small), ("20 MiB, multipart", large)):
        with report.check(f"awscli: aws s3 cp up and down ({label})"):
            aws("s3", "cp", source, f"s3://{bucket}/cp/{source.name}")
            target = work / "awscli-down" / source.name
            aws("s3", "cp", f"s3://{bucket}/cp/{source.name}", target)
            expect_equal(sha256_file(target), sha256_file(source), "SHA-256 of the download")
    with report.check("awscli: aws s3 cp from S3 to S3 of the 20 MiB object (UploadPartCopy) and of the 1 MiB one"):
        for source in (large, small):
            aws("s3", "cp", f"s3://{bucket}/cp/{source.name}", f"s3://{bucket}/copies/{source.name}")
            target = work / "awscli-down" / ("copy of " + source.name)
            aws("s3", "cp", f"s3://{bucket}/copies/{source.name}", target)
            expect_equal(sha256_file(target), sha256_file(source), f"SHA-256 of the copy of {source.name}")
        # aws-cli copies above its 8 MiB threshold part by part (UploadPartCopy): the copy is a 3-part object.
        head = json.loads(text_of(aws("s3api", "head-object", "--bucket", bucket, "--key", f"copies/{large.name}")))
        expect(head["ETag"].endswith('-3"'), f"the 20 MiB copy's ETag {head['ETag']} does not name 3 parts")
    with report.check("awscli: aws s3 ls of a prefix lists the files with their sizes"):
        listing = text_of(aws("s3", "ls", f"s3://{bucket}/cp/"))
        for source in (small, large):
            expect(any(line.split()[2:3] == [str(source.stat().st_size)] and line.endswith(source.name)
                       for line in listing.splitlines() if len(line.split()) >= 4),
                   f"{source.name} ({source.stat().st_size} bytes) not in {listing!r}")
    with report.check("awscli: aws s3 cp with AWS_REQUEST_CHECKSUM_CALCULATION=when_required"):
        required = dict(env, AWS_REQUEST_CHECKSUM_CALCULATION="when_required")
        aws("s3", "cp", small, f"s3://{bucket}/cp/when-required.bin", environment=required)
        target = work / "awscli-down/when-required.bin"
        aws("s3", "cp", f"s3://{bucket}/cp/when-required.bin", target, environment=required)
        expect_equal(sha256_file(target), sha256_file(small), "SHA-256 of the download")
    if crt_checksums is not None:
        with report.check("awscli: aws s3 cp signed by the CRT signer (awscrt installed)"):
            with_crt = dict(env)
            with_crt.pop("BOTO_DISABLE_CRT")
            aws("s3", "cp", large, f"s3://{bucket}/cp/crt.bin", environment=with_crt)
            target = work / "awscli-down/crt.bin"
            aws("s3", "cp", f"s3://{bucket}/cp/crt.bin", target, environment=with_crt)
            expect_equal(sha256_file(target), sha256_file(large), "SHA-256 of the download")


def awscli_sync_checks(report, args, aws, work, bucket, admin):
    source, copy = work / "awscli-tree", work / "awscli-tree-down"
    sizes = make_tree(source, args.tree_files, seed=1)
    total = sum(sizes.values())
    label = f"{len(sizes)} files, {total / MIB:.1f} MiB"
    with report.check(f"awscli: aws s3 sync up ({label})"):
        aws("s3", "sync", source, f"s3://{bucket}/tree/", timeout=600)
        keys = all_keys(admin, bucket, "tree/")
        expect_equal(sorted(keys), sorted(f"tree/{name}" for name in sizes), "keys in the bucket")
    with report.check("awscli: aws s3 ls --recursive lists every file"):
        listing = text_of(aws("s3", "ls", "--recursive", f"s3://{bucket}/tree/", timeout=300))
        expect_equal(len(listing.splitlines()), len(sizes), "lines")
    with report.check("awscli: aws s3 sync down, the tree is the same byte for byte"):
        aws("s3", "sync", f"s3://{bucket}/tree/", copy, timeout=600)
        compare_trees(source, copy)
    with report.check("awscli: a second aws s3 sync in either direction transfers nothing"):
        up = text_of(aws("s3", "sync", source, f"s3://{bucket}/tree/", "--no-progress", timeout=300))
        down = text_of(aws("s3", "sync", f"s3://{bucket}/tree/", copy, "--no-progress", timeout=300))
        expect(not up.strip(), f"sync up again transferred: {up[:300]!r}")
        expect(not down.strip(), f"sync down again transferred: {down[:300]!r}")
    with report.check("awscli: aws s3 sync --delete removes a deleted file remotely"):
        removed = SPECIAL_NAMES[0]
        (source / removed).unlink()
        aws("s3", "sync", "--delete", source, f"s3://{bucket}/tree/", timeout=300)
        keys = all_keys(admin, bucket, "tree/")
        expect(f"tree/{removed}" not in keys, f"tree/{removed} still listed")
        expect_equal(len(keys), len(sizes) - 1, "keys")
    with report.check("awscli: aws s3 rm --recursive of a prefix"):
        aws("s3", "rm", "--recursive", f"s3://{bucket}/tree/", timeout=300)
        expect_equal(all_keys(admin, bucket, "tree/"), [], "keys left")


# --------------------------------------------------------------------------------------------------------------------
# rclone


def rclone_checks(report, args, work, admin):
    config = work / "rclone.conf"
    config.write_text("[s3t]\ntype = s3\nprovider = Other\nenv_auth = false\n"
                      f"access_key_id = {args.access_key}\nsecret_access_key = {args.secret_key}\n"
                      f"endpoint = {args.endpoint}\nregion = {args.region}\nforce_path_style = true\n")
    env = clean_environment()
    env["RCLONE_CONFIG"] = str(config)
    bucket = f"t-rclone-{secrets.token_hex(4)}"
    flags = ["--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]

    def rclone(*arguments, timeout=300):
        return run(["rclone", *arguments, *flags], env=env, timeout=timeout)

    source = work / "rclone-tree"
    sizes = make_tree(source, min(100, args.tree_files), seed=2)
    big = write_file(work / "rclone-big/large file.bin", os.urandom(12 * MIB))
    try:
        with report.check("rclone: rclone version"):
            report.note(text_of(rclone("version")).splitlines()[0])
        with report.check("rclone: rclone mkdir creates the bucket"):
            rclone("mkdir", f"s3t:{bucket}")
            expect(bucket_exists(admin, bucket), "the bucket does not exist afterwards")
        with report.check(f"rclone: rclone copy of {len(sizes)} files"):
            rclone("copy", source, f"s3t:{bucket}/copy")
            expect_equal(sorted(all_keys(admin, bucket, "copy/")), sorted(f"copy/{name}" for name in sizes), "keys")
        with report.check("rclone: rclone sync"):
            rclone("sync", source, f"s3t:{bucket}/sync")
            expect_equal(sorted(all_keys(admin, bucket, "sync/")), sorted(f"sync/{name}" for name in sizes), "keys")
        with report.check("rclone: rclone check (MD5) reports 0 differences"):
            output = text_of(rclone("check", source, f"s3t:{bucket}/sync"))
            expect("0 differences found" in output, f"rclone check said: {output[-500:]!r}")
            expect("hashes could not be checked" not in output, f"some hashes were not checked: {output[-500:]!r}")
        with report.check("rclone: rclone lsf -R lists every file by its name"):
            listed = text_of(rclone("lsf", "-R", "--files-only", f"s3t:{bucket}/sync")).splitlines()
            expect_equal(sorted(listed), sorted(sizes), "names")
        with report.check("rclone: rclone copy down, the tree is the same byte for byte"):
            copy = work / "rclone-tree-down"
            rclone("copy", f"s3t:{bucket}/sync", copy)
            compare_trees(source, copy)
        with report.check("rclone: rclone copy of a 12 MiB file (multipart, 5 MiB chunks), rclone check",
                          lenient_reason=LENIENT_VERSION_NULL):
            rclone("copy", big.parent, f"s3t:{bucket}/big")
            output = text_of(rclone("check", big.parent, f"s3t:{bucket}/big"))
            expect("0 differences found" in output, f"rclone check said: {output[-500:]!r}")
            expect("hashes could not be checked" not in output, f"the hash was not checked: {output[-500:]!r}")
        with report.check("rclone: rclone delete empties a prefix"):
            rclone("delete", f"s3t:{bucket}/copy")
            expect_equal(all_keys(admin, bucket, "copy/"), [], "keys left")
        with report.check("rclone: rclone purge removes the bucket"):
            rclone("purge", f"s3t:{bucket}")
            expect(not bucket_exists(admin, bucket), "the bucket still exists")
    finally:
        empty_and_delete_bucket(admin, bucket)


# --------------------------------------------------------------------------------------------------------------------
# s3cmd


def s3cmd_checks(report, args, work, admin):
    endpoint = urlsplit(args.endpoint)
    configs = {}
    for version in (4, 2):
        configs[version] = work / f"s3cmd-v{version}.cfg"
        configs[version].write_text(
            "[default]\n"
            f"access_key = {args.access_key}\nsecret_key = {args.secret_key}\n"
            f"host_base = {endpoint.netloc}\nhost_bucket = {endpoint.netloc}\n"
            f"use_https = {endpoint.scheme == 'https'}\nsignature_v2 = {version == 2}\n"
            f"bucket_location = {args.region}\ncheck_ssl_certificate = False\nprogress_meter = False\n")
    env = clean_environment()
    bucket = f"t-s3cmd-{secrets.token_hex(4)}"

    def s3cmd(*arguments, timeout=120, signature_version=4):
        return run(["s3cmd", "-c", configs[signature_version], *arguments], env=env, timeout=timeout)

    small = write_file(work / "s3cmd/small ü+%.bin", os.urandom(300 * 1024))
    large = write_file(work / "s3cmd/large.bin", os.urandom(12 * MIB))
    try:
        with report.check("s3cmd: s3cmd --version"):
            report.note(text_of(s3cmd("--version")).strip())
        with report.check("s3cmd: s3cmd mb"):
            s3cmd("mb", f"s3://{bucket}")
            expect(bucket_exists(admin, bucket), "the bucket does not exist afterwards")
        for label, source, extra in (("300 KiB", small, []),
                                     ("12 MiB, multipart of 5 MiB chunks", large, ["--multipart-chunk-size-mb=5"])):
            with report.check(f"s3cmd: s3cmd put and get ({label})"):
                s3cmd("put", *extra, source, f"s3://{bucket}/files/{source.name}")
                target = work / "s3cmd-down" / source.name
                target.parent.mkdir(exist_ok=True)
                s3cmd("get", "--force", f"s3://{bucket}/files/{source.name}", target)
                expect_equal(sha256_file(target), sha256_file(source), "SHA-256 of the download")
        with report.check("s3cmd: s3cmd ls lists the bucket and the objects"):
            expect(f"s3://{bucket}" in text_of(s3cmd("ls")), "bucket not listed")
            listing = text_of(s3cmd("ls", f"s3://{bucket}/files/"))
            for source in (small, large):
                expect(f"s3://{bucket}/files/{source.name}" in listing, f"{source.name} not in {listing!r}")
        with report.check("s3cmd: s3cmd del"):
            for source in (small, large):
                s3cmd("del", f"s3://{bucket}/files/{source.name}")
            expect_equal(all_keys(admin, bucket), [], "keys left")
        with report.check("s3cmd with signature_v2 = True: put, ls, get and del (Signature Version 2 headers)"):
            s3cmd("put", small, f"s3://{bucket}/v2/{small.name}", signature_version=2)
            listing = text_of(s3cmd("ls", f"s3://{bucket}/v2/", signature_version=2))
            expect(f"s3://{bucket}/v2/{small.name}" in listing, f"{small.name} not in {listing!r}")
            target = work / "s3cmd-down" / ("v2-" + small.name)
            s3cmd("get", "--force", f"s3://{bucket}/v2/{small.name}", target, signature_version=2)
            expect_equal(sha256_file(target), sha256_file(small), "SHA-256 of the download")
            s3cmd("del", f"s3://{bucket}/v2/{small.name}", signature_version=2)
            expect_equal(all_keys(admin, bucket), [], "keys left")
        with report.check("s3cmd: s3cmd rb"):
            s3cmd("rb", f"s3://{bucket}")
            expect(not bucket_exists(admin, bucket), "the bucket still exists")
    finally:
        empty_and_delete_bucket(admin, bucket)


# --------------------------------------------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--virtual-host-domain",
                        help="the server's --s3-domain: also checks virtual-host style (BUCKET.DOMAIN), names resolved here"
                             " to the endpoint's address")
    parser.add_argument("--clients", default=",".join(ALL_CLIENTS), help="comma-separated subset of " +
                        ",".join(ALL_CLIENTS))
    parser.add_argument("--tree-files", type=int, default=1000, help="files of the aws s3 sync tree (rclone: 100)")
    parser.add_argument("--multipart-mib", type=int, default=64, help="size of the boto3 multipart upload")
    parser.add_argument("--work", type=Path,
                        help="directory for the scratch files, kept (default: a temporary one, removed if all passed)")
    parser.add_argument("--lenient-server", action="store_true",
                        help="signature, presigned-expiry and access-key checks only warn (for moto)")
    args = parser.parse_args()
    args.clients = [name.strip() for name in args.clients.split(",") if name.strip()]
    unknown = sorted(set(args.clients) - set(ALL_CLIENTS))
    if unknown:
        parser.error(f"unknown clients {unknown}; known: {', '.join(ALL_CLIENTS)}")
    endpoint = urlsplit(args.endpoint)
    if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
        parser.error("--endpoint must look like http://127.0.0.1:PORT")
    if args.tree_files < len(SPECIAL_NAMES) or args.multipart_mib < 9:
        parser.error(f"--tree-files must be at least {len(SPECIAL_NAMES)} and --multipart-mib at least 9")
    args.endpoint = args.endpoint.rstrip("/")
    return args


def isolate_aws_configuration(work, args):
    """boto3 in this process reads no file of the user's: point it at empty temporary ones, drop AWS_* settings."""
    for name in [key for key in os.environ if key.startswith("AWS_")]:
        del os.environ[name]
    config, credentials = work / "boto3-config", work / "boto3-credentials"
    config.write_text(f"[default]\nregion = {args.region}\n")
    credentials.write_text("")
    os.environ.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials),
                      AWS_EC2_METADATA_DISABLED="true")


def run_suites(report, args, work):
    admin = Boto3(args).client(checksum_calculation="when_required")
    with report.check("the endpoint answers ListBuckets"):
        admin.list_buckets()
    if report.failed:
        return
    suites = {"boto3": lambda: boto3_checks(report, args, work),
              "awscli": lambda: awscli_checks(report, args, work, admin),
              "rclone": lambda: rclone_checks(report, args, work, admin),
              "s3cmd": lambda: s3cmd_checks(report, args, work, admin)}
    for name in args.clients:
        started = time.monotonic()
        with report.check(f"{name}: the suite ran to its end"):
            suites[name]()
        report.note(f"{name} took {time.monotonic() - started:.0f} s")


def main():
    args = parse_args()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="s3-clients-", dir=args.work))  # fresh each run, also inside --work
    isolate_aws_configuration(work, args)
    report = Report(args.lenient_server)
    crt = f"awscrt {awscrt.__version__}" if crt_checksums else "no awscrt"
    print(f"S3 client compatibility against {args.endpoint} (boto3 {boto3.__version__}, botocore "
          f"{botocore.__version__}, {crt}); scratch {work}", flush=True)
    started = time.monotonic()
    try:
        run_suites(report, args, work)
    finally:
        report.summary()
        print(f"took {time.monotonic() - started:.0f} s", flush=True)
        if args.work is None:
            if report.failed:
                print(f"scratch directory kept for a look: {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
