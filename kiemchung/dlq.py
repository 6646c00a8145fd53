"""`kiemchung dlq list|show|replay`: look at dead-lettered messages and move them back after a fix.

Distributed runtime: the services' RabbitMQ dead-letter queues (`kiemchung.<service>.dlq`).
Embedded runtime: the dead-letter table. A replay hands the message back to its service as it
first arrived (our attempts header cleared); it is idempotent because every service checks its
inbox: a message that was processed meanwhile (or replayed twice) is a duplicate and changes
nothing. A message that fails again is dead-lettered again, with its new error.

Messages are named by a key: the first 12 hex digits of the SHA-256 of their body, the same on
both runtimes and stable across listings.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from contracts.routing import Service, route_for

EXIT_OK = 0
EXIT_NOT_FOUND = 3
KEY_HEX_DIGITS = 12
DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
PREVIEW_CHARS = 120
BROKER_TIMEOUT_SECONDS = 30.0
# Our own delivery bookkeeping: cleared so a replayed message starts with fresh attempts.
_OWN_HEADER_PREFIXES = ("x-kiemchung-", "x-death", "x-first-death", "x-last-death", "x-delivery-count")


def key_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:KEY_HEX_DIGITS]


@dataclass(frozen=True)
class DeadLetter:
    key: str
    service: str
    reason: str
    detail: str
    attempts: int
    event_type: str
    event_id: str
    body: str

    @classmethod
    def of(cls, service: str, body: bytes, reason: str, detail: str, attempts: int) -> DeadLetter:
        event_type, event_id = _envelope_of(body)
        text = body.decode("utf-8", errors="replace")
        return cls(key_of(body), service, reason, detail, attempts, event_type, event_id, text)


def _envelope_of(body: bytes) -> tuple[str, str]:
    """The message's type and event_id, or empty strings: unreadable JSON is a common reason
    for a message to be dead-lettered, so it must still be listed."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    return str(parsed.get("type", "")), str(parsed.get("event_id", ""))


@dataclass(frozen=True)
class Filter:
    services: tuple[Service, ...]
    reason: str | None = None
    keys: frozenset[str] = frozenset()

    def matches(self, letter: DeadLetter) -> bool:
        if self.reason is not None and letter.reason != self.reason:
            return False
        return not self.keys or any(letter.key.startswith(k) for k in self.keys)


@dataclass(frozen=True)
class Replayed:
    key: str
    service: str


# --- distributed: RabbitMQ dead-letter queues -------------------------------------------------


def _header(headers: dict[str, Any], name: str, default: str = "") -> str:
    value = headers.get(name, default)
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


async def rabbit_list(url: str, where: Filter, limit: int) -> list[DeadLetter]:
    """Browse without consuming: every message taken is returned when the channel closes."""
    import aio_pika

    found: list[DeadLetter] = []
    connection = await aio_pika.connect(url, timeout=BROKER_TIMEOUT_SECONDS)
    async with connection:
        for service in where.services:
            channel = await connection.channel()
            queue = await channel.declare_queue(route_for(service).dead_letter_queue, passive=True)
            taken = 0
            while taken < limit:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                taken += 1
                letter = _letter(service, message)
                if where.matches(letter):
                    found.append(letter)
            await channel.close()  # unacked: all back in the queue
    return found


def _letter(service: Service, message: Any) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        attempts = int(_header(headers, "x-kiemchung-attempts", "0") or 0)
    except ValueError:
        attempts = 0
    reason = _header(headers, "x-kiemchung-reason") or _header(headers, "x-first-death-reason", "broker")
    return DeadLetter.of(
        service.value, message.body, reason, _header(headers, "x-kiemchung-detail"), attempts
    )


async def rabbit_replay(url: str, where: Filter, limit: int) -> list[Replayed]:
    """Publish each matching message back to its service's queue (confirmed), then ack it."""
    import aio_pika

    done: list[Replayed] = []
    connection = await aio_pika.connect(url, timeout=BROKER_TIMEOUT_SECONDS)
    async with connection:
        for service in where.services:
            route = route_for(service)
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(route.dead_letter_queue, passive=True)
            taken = 0
            while taken < limit:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                taken += 1
                letter = _letter(service, message)
                if not where.matches(letter):
                    continue  # returned to the DLQ when the channel closes
                headers = {
                    k: v for k, v in (message.headers or {}).items() if not k.startswith(_OWN_HEADER_PREFIXES)
                }
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        content_type=message.content_type or "application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=route.queue,
                )
                await message.ack()  # only after the broker confirmed the copy
                done.append(Replayed(letter.key, service.value))
            await channel.close()
    return done


# --- embedded: the dead-letter table ----------------------------------------------------------


def table_list(database_url: str, where: Filter, limit: int) -> list[DeadLetter]:
    from sqlalchemy import select

    from kiemchung.runtime.db import dead_letters, make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(dead_letters)
                .where(dead_letters.c.consumer.in_([s.value for s in where.services]))
                .order_by(dead_letters.c.id)
                .limit(limit)
            ).mappings()
            letters = [
                DeadLetter.of(
                    r["consumer"], r["body"].encode("utf-8"), r["reason"], r["detail"], r["attempts"]
                )
                for r in rows
            ]
    finally:
        engine.dispose()
    return [x for x in letters if where.matches(x)]


async def table_replay(settings: Any, where: Filter, limit: int) -> list[Replayed]:
    """Hand each matching body to its service on the embedded bus and drain; then delete the
    original rows (a crash before that leaves them; replaying again is then a duplicate)."""
    from sqlalchemy import delete, select

    from kiemchung.bootstrap import build_embedded
    from kiemchung.runtime.db import dead_letters

    app = build_embedded(settings)
    chosen: list[tuple[int, Service, bytes]] = []
    with app.wiring.sessions() as session:
        rows = session.execute(
            select(dead_letters.c.id, dead_letters.c.consumer, dead_letters.c.body, dead_letters.c.reason)
            .where(dead_letters.c.consumer.in_([s.value for s in where.services]))
            .order_by(dead_letters.c.id)
            .limit(limit)
        ).all()
        for row in rows:
            body = row.body.encode("utf-8")
            letter = DeadLetter.of(row.consumer, body, row.reason, "", 0)
            if where.matches(letter):
                chosen.append((row.id, Service(row.consumer), body))
    for _, service, body in chosen:
        await app.bus.publish_raw_to(service, body)
    await app.run_until_idle()
    if chosen:
        with app.wiring.sessions() as session, session.begin():
            session.execute(delete(dead_letters).where(dead_letters.c.id.in_([c[0] for c in chosen])))
    app.wiring.engine.dispose()
    return [Replayed(key_of(body), service.value) for _, service, body in chosen]


# --- command line -----------------------------------------------------------------------------


def _filter(args: argparse.Namespace, keys: Iterable[str] = ()) -> Filter:
    services = (Service(args.service),) if args.service else tuple(Service)
    return Filter(services, args.reason, frozenset(k.lower() for k in keys))


def _list(args: argparse.Namespace, where: Filter) -> list[DeadLetter]:
    from kiemchung.runtime.settings import Runtime, get_settings

    settings = get_settings()
    if settings.runtime is Runtime.DISTRIBUTED:
        return asyncio.run(rabbit_list(settings.broker_url, where, args.limit))
    return table_list(settings.resolved_database_url(), where, args.limit)


def _cmd_list(args: argparse.Namespace) -> int:
    letters = _list(args, _filter(args))
    if args.json:
        print(json.dumps([asdict(x) for x in letters], ensure_ascii=False, indent=2))
        return EXIT_OK
    for x in letters:
        preview = x.detail.replace("\n", " ")[:PREVIEW_CHARS]
        print(f"{x.key}  {x.service:<17} {x.reason:<28} {x.event_type or '-':<22} {x.attempts}  {preview}")
    print(f"{len(letters)} dead-lettered message(s)")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    letters = _list(args, _filter(args, [args.key]))
    if not letters:
        print(f"no dead-lettered message with key {args.key}")
        return EXIT_NOT_FOUND
    print(json.dumps([asdict(x) for x in letters], ensure_ascii=False, indent=2))
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from kiemchung.runtime.settings import Runtime, get_settings

    settings = get_settings()
    where = _filter(args, args.keys)
    if settings.runtime is Runtime.DISTRIBUTED:
        done = asyncio.run(rabbit_replay(settings.broker_url, where, args.limit))
    else:
        done = asyncio.run(table_replay(settings, where, args.limit))
    for r in done:
        print(f"replayed {r.key} to {r.service}")
    print(f"{len(done)} message(s) replayed; duplicates among them change nothing (inbox)")
    return EXIT_OK


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_LIMIT}")
    return value


def register(sub: Any) -> None:
    dlq = sub.add_parser("dlq", help="dead-lettered messages: list, show, replay after a fix")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--service", choices=[s.value for s in Service], help="one service only")
        parser.add_argument("--reason", help="only messages dead-lettered for this reason code")
        parser.add_argument(
            "--limit", type=_limit, default=DEFAULT_LIMIT, help="messages looked at per service"
        )

    listing = dlq_sub.add_parser("list", help="list dead-lettered messages")
    common(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_cmd_list)

    show = dlq_sub.add_parser("show", help="show one message (its key or a prefix) with its body")
    show.add_argument("key")
    common(show)
    show.set_defaults(func=_cmd_show)

    replay = dlq_sub.add_parser("replay", help="move messages back to their service (idempotent)")
    replay.add_argument("keys", nargs="*", help="keys (or prefixes); none: every match of the filters")
    common(replay)
    replay.set_defaults(func=_cmd_replay)


__all__: Sequence[str] = ("DeadLetter", "Filter", "key_of", "rabbit_list", "rabbit_replay", "register")
