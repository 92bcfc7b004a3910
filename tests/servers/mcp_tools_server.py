"""An MCP tool server for the broker end-to-end tests: the real PyPI `mcp` package (MCPServer,
formerly FastMCP; installed by `cargo xtask test-servers` into target/test-servers/venv) serving
the streamable HTTP transport on a free loopback port at /mcp.

Known tools with known annotations (one read-only, one destructive, one without annotations), and
`tools/list` answered in pages of two so that clients must follow `nextCursor`.

Environment: MCP_BEARER_TOKEN (optional: when set, every request needs it as a bearer token),
MCP_JSON_RESPONSE=1 (plain JSON replies instead of server-sent events).
Prints `listening <port>` on stdout once the socket accepts connections.
"""

import os
import socket

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import ListToolsResult, ToolAnnotations

PAGE_SIZE = 2


class PagedServer(MCPServer):
    async def _handle_list_tools(self, ctx, params):
        tools = sorted(await self.list_tools(), key=lambda t: t.name)
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + PAGE_SIZE
        return ListToolsResult(
            tools=tools[start:end],
            next_cursor=str(end) if end < len(tools) else None,
        )


server = PagedServer(name="helpdesk-tools", version="1.4.0")


@server.tool(
    title="Search tickets",
    annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
)
def search_tickets(query: str, limit: int = 20) -> str:
    """Search helpdesk tickets by text."""
    return f"no tickets match {query!r}"


@server.tool(
    title="Delete ticket",
    annotations=ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
    ),
)
def delete_ticket(ticket_id: str) -> str:
    """Permanently delete a ticket and its history."""
    return f"deleted {ticket_id}"


@server.tool(
    title="Create ticket",
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
)
def create_ticket(subject: str, body: str) -> str:
    """Open a new ticket."""
    return "created"


@server.tool()
def send_customer_email(to: str, subject: str, body: str) -> str:
    """Send an email to a customer (declares no annotations)."""
    return "sent"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def ticket_stats() -> str:
    """Counts of open and closed tickets."""
    return "0 open"


class RequireBearer:
    """Refuses every request without `Authorization: Bearer <token>`."""

    def __init__(self, app, token):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.expected:
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="helpdesk-tools"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"error":"invalid_token"}'})
            return
        await self.app(scope, receive, send)


def main():
    app = server.streamable_http_app(json_response=os.environ.get("MCP_JSON_RESPONSE") == "1")
    token = os.environ.get("MCP_BEARER_TOKEN")
    if token:
        app = RequireBearer(app, token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
