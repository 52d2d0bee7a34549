/*
 * serve --web-config FILE: TLS and basic auth in the format of the
 * Prometheus exporter-toolkit (node_exporter's --web.config.file), so one
 * file serves every exporter on a host:
 *
 *   tls_server_config:
 *     cert_file: server.crt          # relative paths: to the file's directory
 *     key_file: server.key
 *     client_ca_file: ca.crt         # optional, with client_auth_type
 *     client_auth_type: RequireAndVerifyClientCert
 *     min_version: TLS12
 *   basic_auth_users:
 *     prometheus: $2y$10$...         # bcrypt hashes (htpasswd -B, or bcryptjs)
 *
 * Parsed with the yaml package, passwords checked with bcryptjs.  A key the
 * toolkit has and kmemtop does not implement is an error, never ignored.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { compareSync } from 'bcryptjs';
import { KmemtopError } from '../errors';

export interface WebConfig {
  tls: { cert: string; key: string; ca: string | null; requireClientCert: boolean; minVersion: 'TLSv1.2' | 'TLSv1.3' } | null;
  /* user -> bcrypt hash; null: no authentication. */
  users: Map<string, string> | null;
}

const TLS_KEYS = ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type', 'min_version'];
const CLIENT_AUTH = ['NoClientCert', 'RequireAndVerifyClientCert'];

function bad(file: string, why: string): KmemtopError {
  return new KmemtopError(`kmemtop: --web-config ${file}: ${why}`);
}

/* Pure: the parsed YAML text of a web config, its relative paths resolved against dir. */
export function parseWebConfig(text: string, dir: string, file = 'web config'): { tls: { certFile: string; keyFile: string; caFile: string | null; requireClientCert: boolean; minVersion: 'TLSv1.2' | 'TLSv1.3' } | null; users: Map<string, string> | null } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(file, `not YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad(file, 'not a mapping');
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'tls_server_config' && k !== 'basic_auth_users') throw bad(file, `${k} is not supported (kmemtop takes tls_server_config and basic_auth_users)`);
  }
  let tls = null;
  if (top.tls_server_config !== undefined && top.tls_server_config !== null) {
    const t = top.tls_server_config as Record<string, unknown>;
    if (typeof t !== 'object' || Array.isArray(t)) throw bad(file, 'tls_server_config is not a mapping');
    for (const k of Object.keys(t)) if (!TLS_KEYS.includes(k)) throw bad(file, `tls_server_config.${k} is not supported (kmemtop takes ${TLS_KEYS.join(', ')})`);
    const str = (k: string) => (typeof t[k] === 'string' && t[k] ? (t[k] as string) : null);
    const cert = str('cert_file');
    const key = str('key_file');
    if (!cert || !key) throw bad(file, 'tls_server_config needs cert_file and key_file');
    const auth = str('client_auth_type') ?? 'NoClientCert';
    if (!CLIENT_AUTH.includes(auth)) throw bad(file, `client_auth_type ${auth} is not supported (kmemtop takes ${CLIENT_AUTH.join(' or ')})`);
    const ca = str('client_ca_file');
    if (auth === 'RequireAndVerifyClientCert' && !ca) throw bad(file, 'client_auth_type RequireAndVerifyClientCert needs client_ca_file');
    const min = str('min_version') ?? 'TLS12';
    if (min !== 'TLS12' && min !== 'TLS13') throw bad(file, `min_version ${min} is not supported (TLS12 or TLS13)`);
    const at = (p: string) => (path.isAbsolute(p) ? p : path.join(dir, p));
    tls = { certFile: at(cert), keyFile: at(key), caFile: ca ? at(ca) : null, requireClientCert: auth === 'RequireAndVerifyClientCert', minVersion: min === 'TLS13' ? ('TLSv1.3' as const) : ('TLSv1.2' as const) };
  }
  let users = null;
  if (top.basic_auth_users !== undefined && top.basic_auth_users !== null) {
    const u = top.basic_auth_users as Record<string, unknown>;
    if (typeof u !== 'object' || Array.isArray(u)) throw bad(file, 'basic_auth_users is not a mapping of user: bcrypt hash');
    users = new Map<string, string>();
    for (const [name, hash] of Object.entries(u)) {
      if (typeof hash !== 'string' || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw bad(file, `basic_auth_users.${name} is not a bcrypt hash`);
      users.set(name, hash);
    }
  }
  return { tls, users };
}

/* Read and check a web config and the files it names. */
export function readWebConfig(file: string): WebConfig {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.mode & 0o002) throw bad(file, 'writable by every user: refused (it decides who may read the metrics)');
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof KmemtopError) throw e;
    throw bad(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const c = parseWebConfig(text, path.dirname(path.resolve(file)), file);
  const read = (f: string, what: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch (e) {
      throw bad(file, `cannot read its ${what} ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  return {
    tls: c.tls && { cert: read(c.tls.certFile, 'cert_file'), key: read(c.tls.keyFile, 'key_file'), ca: c.tls.caFile ? read(c.tls.caFile, 'client_ca_file') : null, requireClientCert: c.tls.requireClientCert, minVersion: c.tls.minVersion },
    users: c.users,
  };
}

/*
 * Whether user and password match: bcrypt (slow on purpose, ~0.1 s), so a
 * right pair is remembered by its hash for the process's life (a scrape
 * each second must not cost a bcrypt each); wrong ones are not remembered.
 */
export function authorizer(users: Map<string, string>): (user: string, password: string) => boolean {
  const good = new Set<string>();
  return (user, password) => {
    const hash = users.get(user);
    if (!hash) return false;
    const k = crypto.createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (good.has(k)) return true;
    const ok = compareSync(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) good.add(k);
    return ok;
  };
}
