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
CMD ["node", "dist/api/bin/api.js"]
