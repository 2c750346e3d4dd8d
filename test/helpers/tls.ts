// A test certificate authority: a CA, server certificates and client certificates it signs (node-forge builds
// the X.509; node:crypto makes the keys), and a TLS-terminating proxy for a plaintext HTTP/2 server.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import {
  type ClientHttp2Session,
  connect as connectHttp2,
  createSecureServer,
  type Http2SecureServer,
} from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import forge from 'node-forge';

export interface Issued {
  cert: string;
  key: string;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

export class TestCA {
  private readonly keys = keyPair();
  private readonly certificate: forge.pki.Certificate;

  constructor(name = 'hookflow test CA') {
    this.certificate = this.build(name, this.keys.forgePublic, [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true },
    ]);
    this.certificate.setIssuer(this.certificate.subject.attributes);
    this.certificate.sign(this.keys.forgePrivate, forge.md.sha256.create());
  }

  get cert(): string {
    return forge.pki.certificateToPem(this.certificate);
  }

  /** A server certificate for localhost and 127.0.0.1. */
  server(): Issued {
    return this.issue('localhost', [
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ]);
  }

  client(name = 'hookflow'): Issued {
    return this.issue(name, [{ name: 'extKeyUsage', clientAuth: true }]);
  }

  private issue(commonName: string, extensions: object[]): Issued {
    const keys = keyPair();
    const cert = this.build(commonName, keys.forgePublic, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      ...extensions,
    ]);
    cert.setIssuer(this.certificate.subject.attributes);
    cert.sign(this.keys.forgePrivate, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
  }

  private build(commonName: string, publicKey: forge.pki.PublicKey, extensions: object[]) {
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 24 * 3_600_000);
    cert.setSubject([{ name: 'commonName', value: commonName }]);
    cert.setExtensions(extensions);
    return cert;
  }
}

/** Writes PEM texts into a temporary folder: name → path. */
export function pemFiles(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-tls-'));
  return Object.fromEntries(
    Object.entries(files).map(([name, pem]) => {
      const path = join(dir, `${name}.pem`);
      writeFileSync(path, pem);
      return [name, path];
    }),
  );
}

/** Terminates TLS (HTTP/2 by ALPN, client certificates required) and passes the bytes to `target`. */
export class TlsProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  /** Handshakes that failed, with why. */
  readonly refused: string[] = [];

  constructor(ca: TestCA, target: { host: string; port: number }) {
    const { cert, key } = ca.server();
    this.server = createServer(
      { cert, key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
      (client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          this.sockets.add(s);
          s.on('error', () => {}).on('close', () => this.sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      },
    ).on('tlsClientError', (err) => this.refused.push(err.message));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TLS-terminating gRPC proxy that checks each call's `authorization` metadata, as Temporal Cloud checks an API
 * key: calls without `Bearer <apiKey>` are answered UNAUTHENTICATED, the others passed to `target` (plaintext
 * HTTP/2), trailers included.
 */
export class ApiKeyProxy {
  private readonly server: Http2SecureServer;
  private readonly backend: ClientHttp2Session;
  /** The `authorization` values calls came with. */
  readonly seen = new Set<string>();

  constructor(ca: TestCA, target: string, apiKey: string) {
    const { cert, key } = ca.server();
    this.backend = connectHttp2(`http://${target}`);
    this.backend.on('error', () => {});
    this.server = createSecureServer({ cert, key, ALPNProtocols: ['h2'] });
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const authorization = String(headers.authorization ?? '');
      this.seen.add(authorization);
      if (authorization !== `Bearer ${apiKey}`) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '16',
            'grpc-message': 'invalid API key',
          },
          { endStream: true },
        );
        return;
      }
      const forwarded = { ...headers };
      for (const name of [':scheme', ':authority', 'authorization']) delete forwarded[name];
      const call = this.backend.request(forwarded);
      call.on('error', () => stream.destroy());
      let trailers: Record<string, string> = {};
      call.on('response', (response) => {
        if (stream.destroyed) return;
        // A trailers-only answer (an error): its status is in these headers, and nothing follows.
        if (response['grpc-status'] !== undefined) stream.respond(response, { endStream: true });
        else {
          stream.respond(response, { waitForTrailers: true });
          call.pipe(stream);
        }
      });
      call.on('trailers', (t) => {
        trailers = t as Record<string, string>;
      });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      stream.pipe(call);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.backend.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
