/** Goes to a page of the app without a reload (main.ts shows it on the popstate this sends). */
export function navigate(path: string): void {
  history.pushState(null, "", path);
  window.dispatchEvent(new PopStateEvent("popstate"));
}
