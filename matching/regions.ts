import { MatchingError } from "./errors";

/** A region of the fixed list, with the coordinates latency is estimated from. */
export interface Region {
  id: string;
  name: string;
  latitude: number;
  longitude: number;
}

/** The fixed list of regions, in the order clients show them. */
export const REGIONS: readonly Region[] = Object.freeze([
  { id: "us-east", name: "US East (Virginia)", latitude: 39.04, longitude: -77.49 },
  { id: "us-central", name: "US Central (Iowa)", latitude: 41.26, longitude: -95.86 },
  { id: "us-west", name: "US West (Oregon)", latitude: 45.52, longitude: -122.68 },
  { id: "ca-central", name: "Canada Central (Montreal)", latitude: 45.5, longitude: -73.57 },
  { id: "sa-east", name: "South America East (Sao Paulo)", latitude: -23.55, longitude: -46.63 },
  { id: "uk-south", name: "UK South (London)", latitude: 51.51, longitude: -0.13 },
  { id: "eu-west", name: "EU West (Dublin)", latitude: 53.35, longitude: -6.26 },
  { id: "eu-central", name: "EU Central (Frankfurt)", latitude: 50.11, longitude: 8.68 },
  { id: "eu-north", name: "EU North (Stockholm)", latitude: 59.33, longitude: 18.07 },
  { id: "me-central", name: "Middle East Central (Dubai)", latitude: 25.2, longitude: 55.27 },
  { id: "af-south", name: "Africa South (Johannesburg)", latitude: -26.2, longitude: 28.05 },
  { id: "ap-south", name: "Asia Pacific South (Mumbai)", latitude: 19.08, longitude: 72.88 },
  { id: "ap-southeast", name: "Asia Pacific Southeast (Singapore)", latitude: 1.35, longitude: 103.82 },
  { id: "ap-east", name: "Asia Pacific East (Hong Kong)", latitude: 22.32, longitude: 114.17 },
  { id: "ap-northeast", name: "Asia Pacific Northeast (Tokyo)", latitude: 35.68, longitude: 139.69 },
  { id: "au-southeast", name: "Australia Southeast (Sydney)", latitude: -33.87, longitude: 151.21 },
].map((r) => Object.freeze(r)));

const BY_ID = new Map(REGIONS.map((r) => [r.id, r]));
const EARTH_RADIUS_KM = 6371;

/** The region with this id; throws UNKNOWN_REGION, listing the valid ids, when there is none. */
export function regionById(id: string): Region {
  const region = BY_ID.get(id);
  if (!region) {
    throw new MatchingError("UNKNOWN_REGION", `unknown region "${id.slice(0, 64)}"; use one of: ${REGIONS.map((r) => r.id).join(", ")}`);
  }
  return region;
}

/** Great-circle distance between two regions in km (haversine, mean Earth radius 6371 km). */
export function distanceKm(a: Region, b: Region): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Estimated round-trip latency in ms between two regions: 5 ms + great-circle km / 100 (fiber). */
export function estimateLatencyMs(a: Region, b: Region): number {
  return 5 + distanceKm(a, b) / 100;
}
