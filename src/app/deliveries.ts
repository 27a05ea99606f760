// Webhook deliveries already taken: GitHub's redelivery of one (the same X-GitHub-Delivery id) does nothing twice.

/** Delivery ids remembered at most (oldest forgotten first). */
const REMEMBERED_DELIVERIES = 5000;

export class RecentDeliveries<Claim extends object> {
  private readonly ids = new Set<string>();
  /** The object (a webhook context) that took each id: work it schedules later on its own is not a redelivery. */
  private readonly claims = new WeakSet<Claim>();

  constructor(private readonly capacity = REMEMBERED_DELIVERIES) {}

  /** True the first time `id` is seen, and again for the same `claim`; false for a redelivery. */
  take(id: string, claim: Claim): boolean {
    if (this.claims.has(claim)) return true;
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.claims.add(claim);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
