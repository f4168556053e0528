"""A small SMTP server on 127.0.0.1 for Django's real SMTP backend.

Speaks enough of RFC 5321 for ``smtplib`` (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT). ``refuse[address] = (code, text)`` refuses that recipient (550 permanent, 450
temporary). Received mail is in ``messages`` as ``email.message.EmailMessage``
objects with the envelope; ``take()`` hands them to the test.

``stall_next(seconds, after_data=True)``: the next message is received and kept, and
its "250 queued" answer comes only after ``seconds`` (a client with a shorter timeout
loses the answer to a mail the server has). ``after_data=False`` stalls the answer to
DATA instead (before any of the message is sent): the mail is not kept.
"""

from __future__ import annotations

import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_to: list[str]
    message: EmailMessage

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        raise AssertionError(f"no {content_type} part")


@dataclass
class FakeSmtp:
    messages: list[ReceivedMail] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    _stalls: list[tuple[float, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.ThreadingTCPServer | None = None

    def stall_next(self, seconds: float, *, after_data: bool = True) -> None:
        with self._lock:
            self._stalls.append((seconds, after_data))

    def _stall(self, *, after_data: bool) -> float:
        with self._lock:
            if self._stalls and self._stalls[0][1] == after_data:
                return self._stalls.pop(0)[0]
        return 0.0

    def take(self) -> list[ReceivedMail]:
        with self._lock:
            out, self.messages = self.messages, []
        return out

    def unexpected(self) -> list[ReceivedMail]:
        return list(self.messages)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> FakeSmtp:
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake-smtp ESMTP ready")
                mail_from, rcpt = "", []
                while True:
                    raw = self.rfile.readline(4096)
                    if not raw:
                        return
                    line = raw.decode(errors="replace").rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-fake-smtp")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 fake-smtp")
                    elif verb == "MAIL":
                        mail_from, rcpt = _address(line), []
                        self.reply("250 2.1.0 OK")
                    elif verb == "RCPT":
                        address = _address(line)
                        if address in fake.refuse:
                            code, text = fake.refuse[address]
                            self.reply(f"{code} {text}")
                        else:
                            rcpt.append(address)
                            self.reply("250 2.1.5 OK")
                    elif verb == "DATA":
                        if not rcpt:
                            self.reply("554 5.5.1 no valid recipients")
                            continue
                        if stall := fake._stall(after_data=False):
                            time.sleep(stall)
                            return  # the client gave up waiting for 354
                        self.reply("354 end data with <CR><LF>.<CR><LF>")
                        data = self._read_data()
                        message = BytesParser(policy=policy.default).parsebytes(data)
                        with fake._lock:
                            fake.messages.append(ReceivedMail(mail_from, rcpt, message))
                        if stall := fake._stall(after_data=True):
                            time.sleep(stall)
                            return  # queued; the client gave up waiting for the answer
                        self.reply("250 2.0.0 queued")
                    elif verb == "RSET":
                        mail_from, rcpt = "", []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 5.5.2 not implemented")

            def _read_data(self) -> bytes:
                lines = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if raw in (b".\r\n", b".\n", b""):
                        break
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                return b"".join(lines)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _address(line: str) -> str:
    start, end = line.find("<"), line.find(">")
    return line[start + 1 : end] if 0 <= start < end else line.split(":", 1)[-1].strip()
