/**
 * The README's first requests cannot go stale: every fenced block of its "First request" section
 * follows a `<!-- readme-test -->` comment, and this test runs them as written against a real
 * stack configured the way `make dev` configures it (components/local, the answer cache on, the
 * dev keys). The bash blocks run in one shell, in README order, as a reader pastes them; the
 * OpenAI SDK snippet runs through the real `openai` package in that shell (it reads `ASK`). The
 * only substitution is the documented gateway address, `localhost:8080` (README "Ports"), which
 * becomes this stack's free port. Each request's status and answer are checked, the answer of
 * `POST /v1/prompt` against the shape the README documents (its `readme-test: answer of …` block).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, serviceApps, useStack } from '@context-qa/testkit';

const SECTION = '## First request';
/** Where the README says the gateway listens (README "Ports": 8080, `GATEWAY_PORT`). */
const DOCUMENTED_GATEWAY = 'localhost:8080';
const STATUS = /\n?@@readme-status (\d{3})@@\n/;
const NODE_MARK = '@@readme-node@@';

interface Block {
  lang: string;
  label: string;
  code: string;
}
interface Request {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  command: string;
}
interface Reply {
  status: number;
  body: string;
}

/** The fenced blocks of the README's "First request" section; every one must be marked. */
function firstRequestBlocks(readme: string): Block[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const rest = readme.slice(start + SECTION.length + 2);
  const section = rest.slice(0, rest.search(/^## /m) >>> 0);
  const fences = [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)];
  const marked = [...section.matchAll(/^<!-- readme-test(?::\s*(.*?))? -->\n```(\w*)\n([\s\S]*?)^```$/gm)];
  if (marked.length !== fences.length)
    throw new Error(`every fenced block under "${SECTION}" needs a <!-- readme-test --> comment before it`);
  return marked.map((m) => ({ label: m[1] ?? '', lang: m[2]!, code: m[3]! }));
}

/** The curl commands of a shell script, continuations joined: method, path and JSON body. */
function curlRequests(script: string): Request[] {
  return script
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^\s*curl\s/.test(l))
    .map((command) => {
      const url = /(?:localhost|127\.0\.0\.1):\d+(\/\S*)/.exec(command);
      if (!url) throw new Error(`a README request names no gateway address: ${command}`);
      const data = /\s-d\s+'([^']*)'/.exec(command);
      const method = /\s-X\s+(\w+)/.exec(command)?.[1] ?? (data ? 'POST' : 'GET');
      return {
        method,
        path: url[1]!.replace(/['"]$/, ''),
        body: data ? (JSON.parse(data[1]!) as Record<string, unknown>) : undefined,
        command,
      };
    });
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Every key of `documented` is in `actual` with the same JSON type, recursively. */
function shapeErrors(documented: unknown, actual: unknown, at = '$'): string[] {
  if (kind(documented) !== kind(actual)) return [`${at}: documented ${kind(documented)}, answered ${kind(actual)}`];
  if (kind(documented) !== 'object') return [];
  const doc = documented as Record<string, unknown>;
  const act = actual as Record<string, unknown>;
  return Object.keys(doc).flatMap((k) =>
    k in act ? shapeErrors(doc[k], act[k], `${at}.${k}`) : [`${at}.${k}: documented, not answered`],
  );
}

/** The shell's exit status: 0 without an error, else its code (1 when it was killed or failed to start). */
const exitCode = (err: { code?: unknown } | null): number =>
  err && typeof err.code === 'number' ? err.code : Number(!!err);

function run(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd, timeout: 60_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
      resolve({ code: exitCode(err), stdout, stderr }),
    );
  });
}

describe('the README first request, run as written against a stack configured like make dev', () => {
  const stack = useStack({ apps: serviceApps({ answerCache: true }) });
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

  test('when its curl requests and its OpenAI SDK snippet are run, then each answers as the README says', async () => {
    const gateway = new URL(stack.appUrl('gateway-service')).host;
    const blocks = firstRequestBlocks(readme);
    const shell = blocks.filter((b) => b.lang === 'bash');
    const sdk = blocks.filter((b) => b.lang === 'js');
    const shapes = blocks.filter((b) => b.lang === 'json');
    expect(shell.length).toBeGreaterThanOrEqual(1);
    expect(sdk).toHaveLength(1);
    expect(shapes.map((b) => b.label)).toEqual(['answer of POST /v1/prompt']);
    const promptShape = JSON.parse(shapes[0]!.code) as unknown;

    const local = (code: string) => {
      const out = code.replaceAll(DOCUMENTED_GATEWAY, gateway);
      // A request to any other address would reach whatever runs there (a real `make dev`), not this stack.
      expect(
        out
          .match(/(?:localhost|127\.0\.0\.1):\d+/g)
          ?.filter((h) => h !== gateway && h !== `127.0.0.1:${gateway.split(':')[1]}`) ?? [],
      ).toEqual([]);
      return out;
    };
    const commands = shell.map((b) => local(b.code)).join('\n');
    const requests = curlRequests(commands);
    expect(requests.length).toBeGreaterThanOrEqual(3);

    const dir = path.join(repoRoot, 'test-artifacts', 'readme');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ask.mjs'), local(sdk[0]!.code)); // resolves `openai` from the repository's node_modules
    const script = [
      'set -eu',
      // Each reply is followed by its status, so replies can be told apart and checked one by one.
      `curl() { command curl "$@" -w '\\n@@readme-status %{http_code}@@\\n'; }`,
      commands,
      `echo '${NODE_MARK}'`,
      `'${process.execPath}' ask.mjs`,
    ].join('\n');
    const { code, stdout, stderr } = await run(script, dir);

    const [curlOut, nodeOut = ''] = stdout.split(`${NODE_MARK}\n`);
    const parts = curlOut!.split(STATUS);
    const replies: Reply[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) replies.push({ body: parts[i]!, status: Number(parts[i + 1]) });
    // Fewer replies than requests: the shell stopped early (curl could not connect, a syntax error): say why.
    expect({ replies: replies.length, ...(replies.length === requests.length ? {} : { code, stderr }) }).toEqual({
      replies: requests.length,
    });

    const stored = new Map<string, string>();
    requests.forEach((req, i) => {
      const reply = replies[i]!;
      const where = `README request ${i + 1}: ${req.command.trim()}`;
      const body = req.body ?? {};
      if (req.method === 'PUT' && req.path.startsWith('/v1/context/')) {
        expect({ where, status: reply.status }).toEqual({ where, status: 200 });
        stored.set(decodeURIComponent(req.path.slice('/v1/context/'.length)), String(body.text));
      } else if (req.method === 'POST' && req.path === '/v1/prompt') {
        expect({ where, status: reply.status }).toEqual({ where, status: 200 });
        const answer = JSON.parse(reply.body) as { answer: string; context: { source: string; key: string } };
        expect({ where, shape: shapeErrors(promptShape, answer) }).toEqual({ where, shape: [] });
        const key = body.contextKey as string | undefined;
        if (key && stored.has(key)) {
          // "the answer quotes the context"
          expect(answer.context).toEqual({ source: 'redis', key });
          expect(answer.answer).toContain(stored.get(key));
        }
      } else if (req.method === 'POST' && req.path === '/v1/chat/completions') {
        expect({ where, status: reply.status }).toEqual({ where, status: 200 });
        const key = body.context_key as string | undefined;
        let content = '';
        if (body.stream === true) {
          const events = reply.body
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice('data: '.length));
          expect(events.at(-1)).toBe('[DONE]');
          for (const e of events.slice(0, -1)) {
            const chunk = JSON.parse(e) as { object: string; choices: { delta: { content?: string } }[] };
            expect(chunk.object).toBe('chat.completion.chunk');
            content += chunk.choices[0]?.delta.content ?? '';
          }
        } else {
          const completion = JSON.parse(reply.body) as {
            object: string;
            model: string;
            choices: { message: { content: string } }[];
          };
          expect(completion).toMatchObject({
            object: 'chat.completion',
            choices: [{ message: { role: 'assistant' } }],
          });
          content = completion.choices[0]!.message.content;
        }
        expect(content).not.toBe('');
        if (key && stored.has(key)) expect(content).toContain(stored.get(key));
      } else {
        // A typo in the path lands here too: the reply says which.
        throw new Error(
          `${where}: not a request this test checks (PUT /v1/context/{key}, POST /v1/prompt, POST /v1/chat/completions; add its expectation here); it answered ${reply.status} ${reply.body.slice(0, 200)}`,
        );
      }
    });

    // The snippet prints the whole answer's model and text, then the streamed text.
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(nodeOut).toMatch(/^(gpt4|llama4) \S/);
    expect(nodeOut.split('\n').slice(1).join('\n').trim()).not.toBe('');
  }, 120_000);
});
