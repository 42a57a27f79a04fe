/**
 * A TCP proxy in front of PostgreSQL that can lose the answer to one COMMIT: the server
 * receives it and commits, the client's connection is cut before the "COMMIT" reply reaches
 * it (what a network blip or a server crash right after the commit looks like to the client).
 */
import net from 'node:net';

export class CommitAckProxy {
  private server?: net.Server;
  /** Cut the connection right after forwarding the next COMMIT (its reply is never relayed). */
  armed = false;
  /** COMMITs whose reply was lost. */
  lost = 0;
  private sockets = new Set<net.Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => this.pipe(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server!.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    let buf = Buffer.alloc(0);
    let startup = true;
    let cutOnReply = false;
    client.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      // Forward whole messages, looking at each: startup (no type byte), then typed messages.
      for (;;) {
        if (startup) {
          if (buf.length < 4) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          const code = buf.readInt32BE(4);
          upstream.write(buf.subarray(0, len));
          buf = buf.subarray(len);
          if (code !== 80877103) startup = false; // SSLRequest is followed by the real startup
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) break;
        const msg = buf.subarray(0, len + 1);
        buf = buf.subarray(len + 1);
        if (this.armed && msg[0] === 0x51 /* Q */ && msg.subarray(5, len).toString('utf8').replace(/\0$/, '').trim().toUpperCase() === 'COMMIT') {
          this.armed = false;
          cutOnReply = true;
        }
        upstream.write(msg);
      }
    });
    upstream.on('data', (chunk) => {
      if (cutOnReply) {
        // The server answered the COMMIT (it committed): the client never hears it.
        this.lost++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  }
}
