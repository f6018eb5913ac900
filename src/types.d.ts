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

declare module "*.svg" {
  const path: string;
  export default path;
}

// The customer portal page's script: a file served as it is, not a module of the server.
declare module "*/static/portal.js" {
  const path: string;
  export default path;
}

// The dashboard's script: a file served as it is, not a module of the server.
declare module "*/static/dashboard.js" {
  const path: string;
  export default path;
}
