FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build
ENV NODE_ENV=production
USER node
EXPOSE 4000
# a young generation of 32 MiB semi-spaces: streamed uploads churn through short-lived buffers (BENCHMARKS.md, transfers)
CMD ["node", "--max-semi-space-size=32", "dist/api/bin/api.js"]
