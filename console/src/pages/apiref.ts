// API reference: the gateway's own /openapi.json, rendered here (no
// outside viewer): every operation with its parameters, body fields
// ($refs resolved), responses and examples, and a filter box.

import * as api from "../api";
import { append, h, icon, replace, type Child } from "../dom";
import type { PageCtx } from "../page";
import { empty, fail, loading, pageHeader } from "../ui";

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];

interface Op {
  method: string;
  path: string;
  op: Json;
  tag: string;
  el?: HTMLElement;
  text: string;
}

export async function apiRefPage(ctx: PageCtx): Promise<void> {
  ctx.title("API reference");
  replace(ctx.main, pageHeader("API reference", "Loading /openapi.json…"), loading());
  let doc: Json;
  try {
    doc = obj(await api.openapi()) ?? {};
  } catch (e) {
    replace(ctx.main, pageHeader("API reference"));
    fail(e);
    return;
  }
  if (ctx.signal.aborted) return;
  const r = new Renderer(doc);
  const info = obj(doc.info) ?? {};
  const ops: Op[] = [];
  const paths = obj(doc.paths) ?? {};
  for (const [path, item] of Object.entries(paths)) {
    const pi = obj(item) ?? {};
    for (const m of METHODS) {
      const op = obj(pi[m]);
      if (!op) continue;
      const merged: Json = { ...op, parameters: [...(Array.isArray(pi.parameters) ? pi.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])] };
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === "string" ? op.tags[0] : "Other";
      ops.push({ method: m, path, op: merged, tag, text: `${m} ${path} ${str(op.summary) ?? ""} ${str(op.operationId) ?? ""} ${str(op.description) ?? ""} ${tag}`.toLowerCase() });
    }
  }
  if (!ops.length) {
    replace(ctx.main, pageHeader("API reference"), empty("The document has no operations", "GET /openapi.json answered without paths."));
    return;
  }

  const tagDocs = new Map<string, string>();
  if (Array.isArray(doc.tags)) for (const t of doc.tags) {
    const o = obj(t);
    if (o && str(o.name)) tagDocs.set(o.name as string, str(o.description) ?? "");
  }
  const tagOrder = [...new Set([...tagDocs.keys(), ...ops.map((o) => o.tag)])].filter((t) => ops.some((o) => o.tag === t));

  const filter = h("input", { id: "api-filter", type: "search", placeholder: "Filter: send, webhook, GET /api/phones…", autocomplete: "off", spellcheck: "false" });
  const count = h("span", { class: "muted small", "aria-live": "polite" });
  const toc = h("nav", { class: "api-toc", "aria-label": "Operations" });
  const body = h("div", { class: "api-body" });
  const sections: { tag: string; el: HTMLElement }[] = [];

  for (const tag of tagOrder) {
    const tagOps = ops.filter((o) => o.tag === tag);
    const sec = h("section", { class: "api-tag", "data-tag": tag }, h("h2", null, tag), tagDocs.get(tag) ? r.prose(tagDocs.get(tag)!) : null);
    for (const o of tagOps) {
      o.el = r.operation(o);
      sec.appendChild(o.el);
    }
    sections.push({ tag, el: sec });
    body.appendChild(sec);
  }

  const renderToc = (): void => {
    replace(
      toc,
      tagOrder.map((tag) => {
        const visible = ops.filter((o) => o.tag === tag && !o.el?.hidden);
        if (!visible.length) return null;
        return h(
          "div",
          { class: "toc-group" },
          h("div", { class: "toc-tag" }, tag),
          h(
            "ul",
            null,
            visible.map((o) =>
              h(
                "li",
                null,
                h(
                  "button",
                  {
                    type: "button",
                    class: "toc-link",
                    onclick: () => {
                      const d = o.el as HTMLDetailsElement;
                      d.open = true;
                      d.scrollIntoView({ block: "start" });
                      d.querySelector("summary")?.focus();
                    },
                  },
                  h("span", { class: `method m-${o.method}` }, o.method.toUpperCase()),
                  h("span", { class: "toc-path", title: `${o.method.toUpperCase()} ${o.path}: ${summaryOf(o.op)}` }, str(o.op.operationId) ?? o.path),
                ),
              ),
            ),
          ),
        );
      }),
    );
  };

  const apply = (): void => {
    const q = filter.value.trim().toLowerCase();
    const words = q.split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const o of ops) {
      const ok = words.every((w) => o.text.includes(w));
      if (o.el) o.el.hidden = !ok;
      if (ok) shown++;
    }
    for (const s of sections) s.el.hidden = !ops.some((o) => o.tag === s.tag && !o.el?.hidden);
    count.textContent = q ? `${shown} of ${ops.length} operations` : `${ops.length} operations`;
    renderToc();
  };
  filter.addEventListener("input", apply);

  const servers = Array.isArray(doc.servers) ? doc.servers.map(obj).filter(Boolean) : [];
  replace(
    ctx.main,
    pageHeader(
      str(info.title) ?? "API reference",
      h("span", null, str(info.version) ? `Version ${str(info.version)} · ` : "", "OpenAPI ", str(doc.openapi) ?? "", " · ", h("a", { href: "/openapi.json", target: "_blank", rel: "noopener" }, "/openapi.json")),
    ),
    h(
      "div",
      { class: "card api-intro" },
      str(info.description) ? r.prose(str(info.description)!) : null,
      h(
        "p",
        null,
        "Every path needs ",
        h("code", null, "Authorization: Bearer <token>"),
        " (create one under ",
        h("a", { href: "#/settings" }, "Settings"),
        "). Base URL: ",
        h("code", null, servers.length ? (str(servers[0]!.url) ?? location.origin) : location.origin),
        ".",
      ),
    ),
    h("div", { class: "api-filter-row" }, h("label", { for: "api-filter", class: "visually-hidden" }, "Filter operations"), icon("search"), filter, count),
    h("div", { class: "api-layout" }, toc, body),
  );
  apply();
}

class Renderer {
  constructor(private doc: Json) {}

  /** Follows a local $ref (#/components/...), answering the target and its short name. */
  resolve(v: unknown): { s: Json; name?: string } {
    let s = obj(v) ?? {};
    let name: string | undefined;
    for (let i = 0; i < 10 && typeof s.$ref === "string"; i++) {
      const ref = s.$ref as string;
      const parts = ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      let cur: unknown = this.doc;
      for (const p of parts) cur = obj(cur)?.[p];
      name = parts[parts.length - 1];
      const rest = { ...s };
      delete rest.$ref;
      s = { ...(obj(cur) ?? {}), ...rest };
    }
    if (Array.isArray(s.allOf)) {
      // allOf: one object with every part's properties and required fields.
      const parts = (s.allOf as unknown[]).map((p) => this.resolve(p));
      const merged: Json = { ...s, type: "object", properties: {}, required: [] };
      delete merged.allOf;
      for (const { s: part, name: partName } of parts) {
        Object.assign(merged.properties as Json, obj(part.properties) ?? {});
        if (Array.isArray(part.required)) (merged.required as unknown[]).push(...part.required);
        if (!merged.description && typeof part.description === "string") merged.description = part.description;
        if (partName && partName !== "Success") name = partName;
      }
      s = merged;
    }
    return { s, name };
  }

  shortName(n: string): string {
    return n.replace(/^.*\./, "");
  }

  typeName(v: unknown): string {
    const raw = obj(v) ?? {};
    if (typeof raw.$ref === "string") return this.shortName(raw.$ref.replace(/^.*\//, ""));
    const s = raw;
    if (Array.isArray(s.allOf)) return (s.allOf as unknown[]).map((x) => this.typeName(x)).filter((n) => n !== "Success").join(" & ") || "object";
    if (obj(s.contentSchema)) return `JSON ${this.typeName(s.contentSchema)}`;
    const alt = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null) as unknown[] | null;
    if (alt) return alt.map((x) => this.typeName(x)).join(" | ");
    if ("const" in s) return JSON.stringify(s.const);
    const t = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : [];
    const parts = t.map((x) => {
      if (x === "array") return `${this.typeName(s.items)}[]`;
      if (x === "object" && obj(s.additionalProperties)) return `map<string, ${this.typeName(s.additionalProperties)}>`;
      if (x === "integer" || x === "number") return typeof s.format === "string" ? `${x} (${s.format})` : x;
      if (x === "string" && typeof s.format === "string") return `string (${s.format})`;
      return x;
    });
    if (Array.isArray(s.enum) && !parts.length) parts.push("enum");
    return parts.join(" | ") || "any";
  }

  /** Plain text with `code`, [links](url) shown as text, paragraphs and "- " lists. */
  prose(text: string): HTMLElement {
    const out = h("div", { class: "prose" });
    const blocks = text.split(/\n\s*\n/);
    for (const b of blocks) {
      const lines = b.split("\n");
      if (lines.every((l) => /^\s*[-*] /.test(l) || /^\s{2,}\S/.test(l))) {
        const ul = h("ul");
        let li: HTMLElement | null = null;
        for (const l of lines) {
          if (/^\s*[-*] /.test(l)) {
            li = h("li", null, inline(l.replace(/^\s*[-*] /, "")));
            ul.appendChild(li);
          } else if (li) append(li, [" ", inline(l.trim())]);
        }
        out.appendChild(ul);
      } else {
        out.appendChild(h("p", null, inline(lines.join(" "))));
      }
    }
    return out;
  }

  constraints(s: Json): Child[] {
    const c: string[] = [];
    if (typeof s.minLength === "number") c.push(`min length ${s.minLength}`);
    if (typeof s.maxLength === "number") c.push(`max length ${s.maxLength.toLocaleString()}`);
    if (typeof s.minimum === "number") c.push(`≥ ${s.minimum}`);
    if (typeof s.maximum === "number" && s.maximum < 1e15) c.push(`≤ ${s.maximum.toLocaleString()}`);
    if (typeof s.minItems === "number") c.push(`at least ${s.minItems} items`);
    if (typeof s.maxItems === "number") c.push(`at most ${s.maxItems.toLocaleString()} items`);
    const out: Child[] = c.length ? [h("div", { class: "constraints" }, c.join(" · "))] : [];
    if (typeof s.pattern === "string") out.push(h("div", { class: "constraints" }, "pattern ", h("code", null, s.pattern)));
    if (s.default !== undefined) out.push(h("div", { class: "constraints" }, "default ", h("code", null, JSON.stringify(s.default))));
    if (Array.isArray(s.enum)) out.push(h("div", { class: "enum" }, "one of ", s.enum.map((e, i) => [i ? " " : "", h("code", null, String(e))])));
    return out;
  }

  /** A table of an object schema's fields, nested objects one click deeper. */
  fields(schema: unknown, seen: Set<string> = new Set(), depth = 0): HTMLElement {
    const { s, name } = this.resolve(schema);
    const alt = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : null) as unknown[] | null;
    if (alt && !s.properties) {
      const real = alt.filter((a) => obj(a)?.type !== "null");
      if (real.length === 1) return this.fields(real[0], seen, depth);
      return h("div", { class: "one-of" }, h("div", { class: "muted small" }, "One of:"), real.map((a, i) => h("div", { class: "alt" }, h("div", { class: "alt-title" }, `${i + 1}. ${this.altName(a)}`), this.fields(a, seen, depth + 1))));
    }
    const props = obj(s.properties);
    if (!props) {
      if (s.type === "array") return h("div", null, h("div", { class: "muted small" }, `An array of ${this.typeName(s.items)}:`), this.fields(s.items, seen, depth + 1));
      return h("div", { class: "muted small" }, this.typeName(schema), str(s.description) ? [": ", str(s.description)] : null);
    }
    const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
    const nextSeen = new Set(seen);
    if (name) nextSeen.add(name);
    return h(
      "table",
      { class: "table fields" },
      h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Type"), h("th", null, "Description"))),
      h(
        "tbody",
        null,
        Object.entries(props).map(([field, v]) => {
          const inner = this.resolve(v).s;
          const target = this.nestedTarget(v);
          const targetName = target ? this.refName(target) : undefined;
          const nested = target && depth < 4 && !(targetName && nextSeen.has(targetName));
          return h(
            "tr",
            null,
            h("td", { class: "mono" }, field, required.has(field) ? h("span", { class: "req", title: "required" }, " *") : null),
            h("td", { class: "mono small type" }, this.typeName(v)),
            h(
              "td",
              null,
              str(inner.description) ? this.prose(str(inner.description)!) : null,
              this.constraints(inner),
              nested ? h("details", { class: "nested" }, h("summary", null, `Fields of ${this.typeName(target)}`), this.fields(target, nextSeen, depth + 1)) : null,
            ),
          );
        }),
      ),
    );
  }

  /** A oneOf alternative's name: its event's constant (SSE), else its type. */
  private altName(v: unknown): string {
    const ev = obj(obj(this.resolve(v).s.properties)?.event)?.const;
    return typeof ev === "string" ? `a "${ev}" event` : this.typeName(v);
  }

  private refName(v: unknown): string | undefined {
    const o = obj(v);
    if (o && Array.isArray(o.allOf)) return (o.allOf as unknown[]).map((x) => this.refName(x)).filter((n) => n && n !== "Success").join("&") || undefined;
    return o && typeof o.$ref === "string" ? o.$ref.replace(/^.*\//, "") : undefined;
  }

  /** The object schema a field leads to (itself, its array items, or its non-null alternative), if any. */
  private nestedTarget(v: unknown): unknown {
    const o = obj(v);
    if (!o) return undefined;
    if (obj(o.contentSchema)) return this.nestedTarget(o.contentSchema);
    const alt = (Array.isArray(o.anyOf) ? o.anyOf : Array.isArray(o.oneOf) ? o.oneOf : null) as unknown[] | null;
    if (alt) {
      const real = alt.filter((a) => obj(a)?.type !== "null");
      return real.length === 1 ? this.nestedTarget(real[0]) : undefined;
    }
    const { s } = this.resolve(o);
    if (obj(s.properties)) return o;
    if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) return this.nestedTarget(s.items);
    return undefined;
  }

  example(content: Json): HTMLElement | null {
    const ex = content.example ?? Object.values(obj(content.examples) ?? {}).map((e) => obj(e)?.value)[0];
    const schemaEx = this.resolve(content.schema).s.example ?? (Array.isArray(this.resolve(content.schema).s.examples) ? (this.resolve(content.schema).s.examples as unknown[])[0] : undefined);
    const v = ex ?? schemaEx;
    if (v === undefined) return null;
    return h("div", { class: "example" }, h("div", { class: "muted small" }, "Example"), h("pre", { class: "code" }, typeof v === "string" ? v : JSON.stringify(v, null, 2)));
  }

  /** Operations whose path takes an ID this answer carries (OpenAPI links), as jump buttons. */
  links(links: Json): HTMLElement {
    return h(
      "div",
      { class: "op-links small" },
      "Leads to ",
      Object.entries(links).map(([k, v], i) => {
        const target = str(obj(v)?.operationId) ?? k;
        return [
          i ? " " : "",
          h(
            "button",
            {
              type: "button",
              class: "link-btn",
              onclick: () => {
                const d = document.querySelector<HTMLDetailsElement>(`details.op[data-operation="${CSS.escape(target)}"]`);
                if (!d) return;
                d.hidden = false;
                d.open = true;
                d.scrollIntoView({ block: "start" });
                d.querySelector("summary")?.focus();
              },
            },
            target,
          ),
        ];
      }),
    );
  }

  operation(o: Op): HTMLElement {
    const op = o.op;
    const params = (op.parameters as unknown[]).map((p) => this.resolve(p).s).filter((p) => str(p.name));
    const reqBody = this.resolve(op.requestBody).s;
    const reqContent = obj(reqBody.content) ?? {};
    const responses = obj(op.responses) ?? {};
    const id = `op-${o.method}-${o.path.replace(/[^A-Za-z0-9]+/g, "-")}`;
    return h(
      "details",
      { class: "op", id, "data-method": o.method, "data-path": o.path, "data-operation": str(op.operationId) },
      h(
        "summary",
        null,
        h("span", { class: `method m-${o.method}` }, o.method.toUpperCase()),
        h("code", { class: "op-path" }, o.path),
        h("span", { class: "op-summary" }, summaryOf(op)),
      ),
      h(
        "div",
        { class: "op-body" },
        str(op.description) && str(op.description)!.replace(/\.$/, "") !== str(op.summary)?.replace(/\.$/, "") ? this.prose(str(op.description)!) : null,
        str(op.operationId) ? h("p", { class: "muted small" }, "Operation ", h("code", null, str(op.operationId)!)) : null,
        params.length
          ? [
              h("h4", null, "Parameters"),
              h(
                "table",
                { class: "table fields" },
                h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "In"), h("th", null, "Type"), h("th", null, "Description"))),
                h(
                  "tbody",
                  null,
                  params.map((p) => {
                    const sch = this.resolve(p.schema).s;
                    return h(
                      "tr",
                      null,
                      h("td", { class: "mono" }, str(p.name)!, p.required ? h("span", { class: "req", title: "required" }, " *") : null),
                      h("td", null, str(p.in) ?? ""),
                      h("td", { class: "mono small type" }, this.typeName(p.schema)),
                      h("td", null, str(p.description) ? this.prose(str(p.description)!) : str(sch.description) ? this.prose(str(sch.description)!) : null, this.constraints(sch)),
                    );
                  }),
                ),
              ),
            ]
          : null,
        Object.keys(reqContent).length
          ? [
              h("h4", null, "Request body", reqBody.required ? h("span", { class: "req" }, " *") : null),
              Object.entries(reqContent).map(([type, c]) => {
                const content = obj(c) ?? {};
                return h("div", { class: "content" }, h("div", { class: "muted small" }, h("code", null, type)), this.fields(content.schema), this.example(content));
              }),
            ]
          : null,
        h("h4", null, "Responses"),
        h(
          "div",
          { class: "responses" },
          Object.entries(responses).map(([code, rv]) => {
            const { s: resp } = this.resolve(rv);
            const content = obj(resp.content) ?? {};
            const ok = code.startsWith("2");
            const headers = obj(resp.headers);
            return h(
              "details",
              { class: `response ${ok ? "ok" : "err"}`, open: ok },
              h("summary", null, h("span", { class: `code c-${code[0]}` }, code), " ", inline(str(resp.description) ?? "")),
              headers ? h("div", { class: "small" }, "Headers: ", Object.keys(headers).map((k, i) => [i ? ", " : "", h("code", null, k)])) : null,
              obj(resp.links) ? this.links(obj(resp.links)!) : null,
              Object.entries(content).map(([type, c]) => {
                const cc = obj(c) ?? {};
                return h("div", { class: "content" }, h("div", { class: "muted small" }, h("code", null, type)), cc.schema ? this.fields(cc.schema) : null, this.example(cc));
              }),
            );
          }),
        ),
      ),
    );
  }
}

/** The description's first sentence (the summary may be a cut line), else the summary. */
function summaryOf(op: Json): string {
  const d = str(op.description)?.replace(/\s+/g, " ").trim();
  const m = d ? /^(.+?\.)(?=\s|$)/.exec(d) : null;
  return m ? m[1]!.replace(/\.$/, "") : (str(op.summary) ?? "");
}

/** Inline text: `code` spans and [text](url) links (shown as text: nothing outside is linked). */
function inline(text: string): Child[] {
  const out: Child[] = [];
  const re = /`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)|\*\*([^*]+)\*\*/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h("code", null, m[1]));
    else if (m[2] !== undefined) out.push(m[3]!.startsWith("#") ? m[2] : h("span", { class: "ext", title: m[3] }, m[2]));
    else if (m[4] !== undefined) out.push(h("strong", null, m[4]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
