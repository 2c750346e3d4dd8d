# One image for both roles: `node --import tsx src/main.ts api|worker`. Two stages: production
# dependencies are installed in the first, the second holds them and the sources only, and runs as `node`.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
USER node
# 3000: the API; 3001: a worker's /readyz and /metrics.
EXPOSE 3000 3001
CMD ["node", "--import", "tsx", "src/main.ts", "api"]
