/** The databases every db/wallet suite runs on. PostgreSQL only when DATABASE_URL is set. */
export const backends = [
  { name: "PGlite (memory)", databaseUrl: undefined, skip: false },
  { name: "PostgreSQL (DATABASE_URL)", databaseUrl: process.env.DATABASE_URL, skip: !process.env.DATABASE_URL },
] as const;
