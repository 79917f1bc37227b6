"""A blocking LMTP client that speaks as Postfix's lmtp(8) does: LHLO, then per
message MAIL FROM, one RCPT TO per recipient, DATA, and one reply per accepted
recipient after the final dot (RFC 2033)."""

import socket


class LmtpClient:
    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()
        self.lhlo = self.command("LHLO mta.isp.example")

    def reply(self) -> str:
        """One reply, multi-line ones joined; raises TimeoutError when none comes."""
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("the server closed the connection")
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return "\n".join(lines)

    def command(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def send(
        self,
        raw: bytes,
        recipients: list[str],
        *,
        sender: str = "MAILER-DAEMON@mx.example.com",
        size: int | None = None,
    ) -> list[str]:
        """Deliver one message; return the reply per recipient (the MAIL or RCPT
        refusal itself when the server refuses before DATA)."""
        mail = f"MAIL FROM:<{sender}>" + (f" SIZE={size}" if size else "")
        answer = self.command(mail)
        if not answer.startswith("250"):
            self.command("RSET")
            return [answer]
        accepted = [
            r for r in recipients if self.command(f"RCPT TO:<{r}>")[:3] == "250"
        ]
        answer = self.command("DATA")
        if not answer.startswith("354"):
            return [answer]
        self.sock.sendall(dot_stuffed(raw) + b".\r\n")
        return [self.reply() for _ in accepted]

    def send_pipelined(self, raws: list[bytes], recipients: list[str]) -> list[str]:
        """Deliver messages as a pipelining MTA may (RFC 2920): each envelope,
        MAIL, RCPT and DATA, in one write, and each message's content in the
        same write as the next envelope; return every reply in order."""
        envelope = b"MAIL FROM:<MAILER-DAEMON@mx.example.com>\r\n" + b"".join(
            f"RCPT TO:<{r}>\r\n".encode() for r in recipients
        )
        envelope += b"DATA\r\n"
        replies = []
        self.sock.sendall(envelope)
        for n, raw in enumerate(raws):
            # The previous message's replies, then this envelope's.
            due = (len(recipients) if n else 0) + len(recipients) + 2
            replies += [self.reply() for _ in range(due)]
            is_last = n == len(raws) - 1
            self.sock.sendall(
                dot_stuffed(raw) + b".\r\n" + (b"" if is_last else envelope)
            )
        replies += [self.reply() for _ in recipients]
        return replies

    def close(self) -> None:
        try:
            self.command("QUIT")
        except OSError:
            pass
        self.file.close()
        self.sock.close()


def dot_stuffed(raw: bytes) -> bytes:
    """The message as DATA carries it: CRLF lines, a leading dot doubled, and a
    final CRLF before the terminating dot."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join(
        (b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines
    )
