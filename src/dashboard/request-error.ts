/** A request the dashboard refuses, with the HTTP status it answers and a message safe to show. */
export class DashboardRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413,
    message: string,
  ) {
    super(message);
    this.name = "DashboardRequestError";
  }
}
