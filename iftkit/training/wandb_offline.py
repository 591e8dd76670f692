"""Read the records of an offline W&B run file (`run-<id>.wandb`) without the W&B service.

The file is a 7-byte header (":W&B", magic, version) followed by LevelDB-log framed protobuf
`Record`s in 32 KiB blocks. Tests use this to check what an offline run really holds
(metrics, config, artifacts) before anyone syncs it; in the process that ran the run, after `written_out()`.
"""

import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def written_out() -> None:
    """Wait until the W&B service has written every finished run's file out, before reading one in this process.

    run.finish() only tells the service (wandb-core, another process) that the run is over; the service closes
    the run's transaction log afterwards, in its own time, so a file read right after finish() can lack its last
    records (seen under load: the history of a resumed run missing). Tearing the service down waits for it; the
    next run in this process starts a new service."""
    import wandb

    wandb.teardown()


def iter_records(path):
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B run file")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        payload = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            continue
        if kind == FULL:
            pending = payload
        elif kind == FIRST:
            pending = payload
            continue
        elif kind == MIDDLE:
            pending += payload
            continue
        elif kind == LAST:
            pending += payload
        rec = pb.Record()
        rec.ParseFromString(pending)
        pending = b""
        yield rec


def summarize(path) -> dict:
    """{"history": [ {key: value} ], "config": {key: json}, "artifacts": [(type, name, metadata, files)]}."""
    import json

    out = {"history": [], "config": {}, "artifacts": []}
    for rec in iter_records(path):
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            out["history"].append(
                {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item}
            )
        elif kind in ("config", "run"):
            # the config given to wandb.init travels in the run record, later updates in config records
            updates = rec.config.update if kind == "config" else rec.run.config.update
            for u in updates:
                out["config"][u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
        elif kind == "artifact":
            a = rec.artifact
            out["artifacts"].append(
                (a.type, a.name, json.loads(a.metadata or "{}"), [c.path for c in a.manifest.contents])
            )
    return out
