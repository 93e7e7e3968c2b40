// Hash routing (#/phones, #/send/ph_x?kind=image): the server only serves
// index.html at /, and every view has a URL that can be bookmarked.

export interface Route {
  /** Path segments: "#/bulk/ph_x/bk_y" -> ["bulk", "ph_x", "bk_y"]. */
  path: string[];
  query: URLSearchParams;
  /** The hash without "#", e.g. "/bulk/ph_x". */
  raw: string;
}

export function current(): Route {
  const raw = decodeURI(location.hash.replace(/^#/, "")) || "/";
  const [p = "/", q = ""] = raw.split("?", 2);
  return {
    path: p.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(q),
    raw,
  };
}

/** Builds "#/a/b?x=1" from segments and query values (empty values left out). */
export function href(segments: (string | null | undefined)[], query?: Record<string, string | null | undefined>): string {
  const path = segments.filter((s): s is string => !!s).map(encodeURIComponent).join("/");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ""}`;
}

export function navigate(hash: string, replaceEntry = false): void {
  if (location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    return;
  }
  if (replaceEntry) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = hash;
  }
}

/** Changes the URL without rendering again (a filter the page already applied). */
export function updateQuiet(hash: string): void {
  if (location.hash !== hash) history.replaceState(null, "", hash);
}
