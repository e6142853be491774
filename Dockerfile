FROM node:20-bookworm-slim AS build
WORKDIR /app
# The workspaces' manifests come with the root's: npm ci installs and links packages/* as well.
COPY package.json package-lock.json ./
COPY packages/wire/package.json packages/wire/
COPY packages/agent/package.json packages/agent/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ormconfig.ts ./
# The server compiles against the wire types; `npm run build` builds the agent too, as a check.
COPY packages/wire/index.d.ts packages/wire/
COPY packages/agent/tsconfig.json packages/agent/tsconfig.build.json packages/agent/
COPY packages/agent/src ./packages/agent/src
COPY src ./src
# --workspaces=false: the image is the server's; the agent and its dependencies stay out of it.
RUN npm run build && npm prune --omit=dev --workspaces=false

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 8080
CMD ["node", "dist/src/main.js"]
