// Migrations are imported as text (Bun's `with { type: "text" }`) so the build embeds them.
declare module "*.sql" {
  const text: string;
  export default text;
}

// Static assets imported with `with { type: "file" }`: a path to the file, embedded by the build.
declare module "*.css" {
  const path: string;
  export default path;
}

declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
