// The API, with the auditor's token held in memory only (never in storage,
// never in a URL), refreshed a minute before it expires. The console has no
// privilege of its own: every request is the auditor's.

const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export class Session {
  constructor() {
    this.access = null;
    this.refreshToken = null;
    this.timer = null;
    this.onEnded = () => {};
  }

  get signedIn() {
    return this.access !== null;
  }

  /** Log in; `{mfa_token}` when the account's second factor is needed. */
  async login(username, password) {
    const response = await fetch(`${API}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "omit",
    });
    const body = await problemOf(response);
    if (response.ok) return this.accept(body);
    if (response.status === 401 && body?.code === "mfa_required") return { mfa_token: body.mfa_token };
    throw new ApiError(response.status, body);
  }

  async loginWithCode(mfaToken, code) {
    const response = await fetch(`${API}/auth/login/mfa`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ mfa_token: mfaToken, code }),
      credentials: "omit",
    });
    const body = await problemOf(response);
    if (!response.ok) throw new ApiError(response.status, body);
    return this.accept(body);
  }

  accept(pair) {
    this.access = pair.access_token;
    this.refreshToken = pair.refresh_token;
    clearTimeout(this.timer);
    const lead = Math.max(5, pair.expires_in - 60);
    this.timer = setTimeout(() => this.refresh(), lead * 1000);
    return true;
  }

  async refresh() {
    const refreshToken = this.refreshToken;
    if (!refreshToken) return;
    let response;
    try {
      response = await fetch(`${API}/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
        credentials: "omit",
      });
    } catch {
      response = null;
    }
    // Signed out meanwhile: the answer is not to bring the session back.
    if (this.refreshToken !== refreshToken) return;
    if (response?.ok) {
      this.accept(await response.json());
    } else if (response?.status === 401) {
      this.forget();
      this.onEnded("Your session ended; sign in again.");
    } else {
      // The server busy or out of reach: try again shortly, while the
      // access token lasts.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), 5000);
    }
  }

  /** A response of the API as the auditor, or an ApiError. */
  async fetch(path, options = {}) {
    const response = await fetch(`${API}${path}`, {
      ...options,
      headers: { ...(options.headers ?? {}), Authorization: `Bearer ${this.access}` },
      credentials: "omit",
      cache: "no-store",
    });
    if (!response.ok) {
      const problem = await problemOf(response);
      if (response.status === 401) {
        this.forget();
        this.onEnded("Your session ended; sign in again.");
      }
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  async json(path, options) {
    return (await this.fetch(path, options)).json();
  }

  /** End the session on the server too. `keepalive` lets it finish as the
   * page closes. */
  signOut(keepalive = false) {
    if (!this.access) return;
    const token = this.access;
    this.forget();
    fetch(`${API}/auth/logout`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
      keepalive,
    }).catch(() => {});
  }

  forget() {
    clearTimeout(this.timer);
    this.access = null;
    this.refreshToken = null;
  }
}
