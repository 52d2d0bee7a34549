/*
 * serve --web-config: the exporter-toolkit file format (TLS, basic auth),
 * refused in one line when wrong, and passwords checked against bcrypt
 * hashes made by bcryptjs (as htpasswd -B makes them: $2y$).
 */
import { hashSync } from 'bcryptjs';
import { authorizer, parseWebConfig } from '../src/serve/webconfig';
import { basicCredentials } from '../src/serve/server';
import { loopback } from '../src/cli/serve';

const HASH = hashSync('s3cret', 10);

describe('serve --web-config', () => {
  it('reads tls_server_config and basic_auth_users, relative paths from the file', () => {
    const c = parseWebConfig(`tls_server_config:\n  cert_file: server.crt\n  key_file: /etc/k/server.key\n  min_version: TLS13\nbasic_auth_users:\n  prom: '${HASH}'\n`, '/etc/kmemtop');
    expect(c.tls).toEqual({ certFile: '/etc/kmemtop/server.crt', keyFile: '/etc/k/server.key', caFile: null, requireClientCert: false, minVersion: 'TLSv1.3' });
    expect([...c.users!.keys()]).toEqual(['prom']);
    expect(parseWebConfig('', '/x')).toEqual({ tls: null, users: null });
    const mtls = parseWebConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n  client_auth_type: RequireAndVerifyClientCert\n', '/d');
    expect(mtls.tls).toMatchObject({ caFile: '/d/ca', requireClientCert: true, minVersion: 'TLSv1.2' });
  });

  it('refuses what it does not implement or cannot use, in one line naming the key', () => {
    const err = (text: string) => {
      try {
        parseWebConfig(text, '/d', 'web.yml');
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err('http_server_config:\n  http2: false\n')).toBe('kmemtop: --web-config web.yml: http_server_config is not supported (kmemtop takes tls_server_config and basic_auth_users)');
    expect(err('tls_server_config:\n  cert_file: a\n')).toBe('kmemtop: --web-config web.yml: tls_server_config needs cert_file and key_file');
    expect(err('tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n')).toMatch(/tls_server_config\.cipher_suites is not supported/);
    expect(err('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n')).toMatch(/client_auth_type VerifyClientCertIfGiven is not supported/);
    expect(err('basic_auth_users:\n  prom: plaintext\n')).toBe('kmemtop: --web-config web.yml: basic_auth_users.prom is not a bcrypt hash');
    expect(err('a: [b')).toMatch(/^kmemtop: --web-config web.yml: not YAML/);
    expect(err('- a\n')).toBe('kmemtop: --web-config web.yml: not a mapping');
  });

  it('checks passwords against bcrypt hashes ($2y$ as htpasswd writes them too), and reads Basic headers', () => {
    const ok = authorizer(new Map([['prom', HASH.replace(/^\$2b\$/, '$2y$')]]));
    expect(ok('prom', 's3cret')).toBe(true);
    expect(ok('prom', 's3cret')).toBe(true); /* remembered */
    expect(ok('prom', 'wrong')).toBe(false);
    expect(ok('nobody', 's3cret')).toBe(false);
    expect(basicCredentials(`Basic ${Buffer.from('prom:a:b').toString('base64')}`)).toEqual({ user: 'prom', password: 'a:b' });
    expect(basicCredentials('Bearer x')).toBeNull();
    expect(basicCredentials(undefined)).toBeNull();
  });

  it('knows a loopback listen address from one other machines reach', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect([h, loopback(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org']) expect([h, loopback(h)]).toEqual([h, false]);
  });
});
