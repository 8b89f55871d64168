#!/usr/bin/env python3
"""Runs the prototype's Postman collection, folder "Public API (Use These!)", against a running gateway.

The prototype's Postman collection must keep working against SwiftDFS. This runner does
what Postman's runner would: each request of the folder in order, `http://localhost:8080` replaced by the
gateway's URL, the form-data `file` field filled with a real temporary file, and `{{file_key}}` set from the
upload's answer (the prototype's `file_id`). Every request must answer 2xx, with JSON where the prototype
answered JSON and with the prototype's field names; the download must give back the uploaded bytes.

Usage: postman_runner.py GATEWAY_URL [--collection PATH] [--folder NAME]
Exit status 0 when every request passed.
"""

import argparse
import json
import os
import re
import sys
import tempfile

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOTYPE_ORIGIN = "http://localhost:8080"
TIMEOUT_SECONDS = 30

# The prototype's fields each answer must carry, by "METHOD first-path-segment(s)".
REQUIRED_FIELDS = {
    "GET /health": ["status", "service"],
    "POST /upload": ["success", "file_id", "original_filename", "size_bytes", "checksum_sha256", "node_id",
                     "replication", "routed_via", "selected_node"],
    "DELETE /files": ["success", "file_key", "deleted_from", "failed", "total_nodes", "deleted_nodes"],
    "GET /files": ["files", "count"],
    "GET /nodes/check": ["checked_at", "nodes"],
    "GET /replication-queue": ["items", "count"],
    "POST /nodes": ["message", "total", "success", "failed", "pending_items"],
}


def folder_items(collection, folder_name):
    for item in collection["item"]:
        if item.get("name") == folder_name:
            return item["item"]
    sys.exit(f"no folder named {folder_name!r} in the collection")


def resolve(text, gateway, variables):
    text = text.replace(PROTOTYPE_ORIGIN, gateway.rstrip("/"))
    return re.sub(r"\{\{(\w+)\}\}", lambda match: variables[match.group(1)], text)


def send(request, gateway, variables, upload_path):
    method = request["method"]
    url = resolve(request["url"]["raw"] if isinstance(request["url"], dict) else request["url"], gateway, variables)
    headers = {h["key"]: resolve(h["value"], gateway, variables) for h in request.get("header", []) if not h.get("disabled")}
    body = request.get("body") or {}
    if body.get("mode") == "formdata":
        files, data = {}, {}
        for field in body["formdata"]:
            if field.get("type") == "file":
                # The collection names a placeholder path; a real file of our own takes its place.
                files[field["key"]] = (os.path.basename(upload_path), open(upload_path, "rb"))
            else:
                data[field["key"]] = resolve(field.get("value", ""), gateway, variables)
        try:
            return requests.request(method, url, headers=headers, files=files, data=data, timeout=TIMEOUT_SECONDS)
        finally:
            for _, handle in files.values():
                handle.close()
    if body.get("mode") == "raw":
        return requests.request(method, url, headers=headers, data=resolve(body.get("raw", ""), gateway, variables).encode(),
                                timeout=TIMEOUT_SECONDS)
    return requests.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS)


def check(name, request, response, upload_bytes):
    """The problems with one answer; empty when it passed."""
    problems = []
    if not 200 <= response.status_code < 300:
        return [f"status {response.status_code}: {response.text[:300]}"]
    path = requests.utils.urlparse(response.url).path
    if path.startswith("/download/"):
        if response.content != upload_bytes:
            problems.append(f"downloaded {len(response.content)} bytes that differ from the {len(upload_bytes)} uploaded")
        return problems
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return [f"Content-Type {response.headers.get('Content-Type')!r}, expected JSON"]
    try:
        answer = response.json()
    except ValueError as error:
        return [f"body is not JSON: {error}"]
    segments = [segment for segment in path.split("/") if segment]
    for key in (f"{request['method']} /{'/'.join(segments[:2])}", f"{request['method']} /{segments[0] if segments else ''}"):
        if key in REQUIRED_FIELDS:
            missing = [field for field in REQUIRED_FIELDS[key] if field not in answer]
            if missing:
                problems.append(f"missing the prototype's fields {missing}")
            break
    if path == "/nodes" and not isinstance(answer, list):
        problems.append("GET /nodes must answer a JSON array, as the prototype did")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gateway", help="the gateway's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--collection", default=os.path.join(HERE, "Mini-DFS.postman_collection.json"))
    parser.add_argument("--folder", default="Public API (Use These!)")
    arguments = parser.parse_args()

    with open(arguments.collection, encoding="utf-8") as handle:
        collection = json.load(handle)
    variables = {variable["key"]: variable.get("value", "") for variable in collection.get("variable", [])}
    upload_bytes = os.urandom(64 * 1024) + "\nhalo dari Postman\n".encode()

    failures = 0
    with tempfile.NamedTemporaryFile(prefix="postman-upload-", suffix=".txt", delete=False) as upload:
        upload.write(upload_bytes)
    try:
        for item in folder_items(collection, arguments.folder):
            request = item["request"]
            try:
                response = send(request, arguments.gateway, variables, upload.name)
                problems = check(item["name"], request, response, upload_bytes)
                status = response.status_code
            except requests.RequestException as error:
                problems, status = [f"request failed: {error}"], "---"
            if not problems and request["method"] == "POST" and "/upload" in str(request["url"]):
                variables["file_key"] = response.json()["file_id"]
            failures += bool(problems)
            print(f"{'PASS' if not problems else 'FAIL'} {status} {request['method']:6} {item['name']}")
            for problem in problems:
                print(f"     {problem}")
    finally:
        os.unlink(upload.name)
    total = len(folder_items(collection, arguments.folder))
    print(f"postman: {total - failures}/{total} requests of {arguments.folder!r} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
