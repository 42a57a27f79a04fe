/**
 * Serves an embedded PGlite database on a loopback port, speaking the PostgreSQL wire
 * protocol, so the application reaches it through the same `pg` Pool as a real server.
 *
 * Why not @electric-sql/pglite-socket: it hands PGlite one wire message at a time, and
 * after an error in the extended protocol (Parse/Bind/Execute ... Sync) the replies go
 * out of step and the client drops the connection. Here, extended-protocol messages are
 * buffered up to their Sync and executed as one group, which is how PGlite expects them.
 *
 * PGlite is one session: a connection inside a transaction owns it until the
 * transaction ends; other connections wait their turn.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export interface PgliteServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function servePglite(db: PGlite, host = '127.0.0.1'): Promise<PgliteServer> {
  let chain: Promise<unknown> = Promise.resolve();
  let owner: object | null = null; // the connection whose transaction is open
  let ownerReleased: (() => void) | null = null;
  let ownerFree: Promise<void> = Promise.resolve();
  const sockets = new Set<Socket>();

  /** Runs one protocol group for `conn`, after any other connection's open transaction ends. */
  async function exec(conn: object, message: Uint8Array): Promise<Uint8Array> {
    for (;;) {
      // Wait outside the queue, so the owner's next group can still run.
      while (owner && owner !== conn) await ownerFree;
      const run = async (): Promise<Uint8Array | null> => {
        if (owner && owner !== conn) return null; // someone else began a transaction first
        const out = await db.execProtocolRaw(message);
        if (db.isInTransaction()) {
          if (owner !== conn) {
            owner = conn;
            ownerFree = new Promise((r) => (ownerReleased = r));
          }
        } else if (owner === conn) {
          release();
        }
        return out;
      };
      const p = chain.then(run, run);
      chain = p.catch(() => undefined);
      const out = await p;
      if (out) return out;
    }
  }

  function release(): void {
    owner = null;
    ownerReleased?.();
    ownerReleased = null;
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const conn = {};
    let buf = Buffer.alloc(0);
    let started = false;
    let pending: Buffer[] = [];
    let work = Promise.resolve();

    const send = (data: Uint8Array) => {
      if (data.length && socket.writable) socket.write(data);
    };

    const handle = async (): Promise<void> => {
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          const msg = buf.subarray(0, len);
          buf = buf.subarray(len);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            send(Buffer.from('N'));
            continue;
          }
          if (code === CANCEL_REQUEST) {
            socket.end();
            return;
          }
          started = true;
          send(await exec(conn, new Uint8Array(msg)));
          continue;
        }
        if (buf.length < 5) return;
        const type = String.fromCharCode(buf[0]!);
        const len = buf.readInt32BE(1) + 1;
        if (buf.length < len) return;
        const msg = Buffer.from(buf.subarray(0, len));
        buf = buf.subarray(len);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (type === 'Q') {
          send(await exec(conn, new Uint8Array(msg)));
        } else {
          pending.push(msg);
          if (type === 'S' || type === 'H') {
            const group = Buffer.concat(pending);
            pending = [];
            send(await exec(conn, new Uint8Array(group)));
          }
        }
      }
    };

    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      work = work.then(handle).catch(() => {
        socket.destroy();
      });
    });
    const cleanup = () => {
      sockets.delete(socket);
      // A connection that vanished inside a transaction must not hold the database forever.
      void work.then(async () => {
        if (owner === conn) {
          await exec(conn, simpleQuery('ROLLBACK')).catch(() => undefined);
          if (owner === conn) release();
        }
      });
    };
    socket.on('close', cleanup);
    socket.on('error', () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host,
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function simpleQuery(sql: string): Uint8Array {
  const body = Buffer.from(sql + '\0', 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out.write('Q', 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return new Uint8Array(out);
}
