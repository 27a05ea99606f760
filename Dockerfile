# syntax=docker/dockerfile:1
# fleet-warden: a small non-root image with the App and the real kustomize.

ARG NODE_VERSION=22
ARG KUSTOMIZE_VERSION=5.7.1

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY rules ./rules
RUN npm run build && npm prune --omit=dev

FROM debian:bookworm-slim AS kustomize
ARG KUSTOMIZE_VERSION
ARG TARGETARCH=amd64
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/kustomize
# The release's checksums file verifies the archive before anything is unpacked.
RUN base="https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}" \
 && archive="kustomize_v${KUSTOMIZE_VERSION}_linux_${TARGETARCH}.tar.gz" \
 && curl -fsSLO "${base}/${archive}" \
 && curl -fsSL "${base}/checksums.txt" -o checksums.txt \
 && grep " ${archive}\$" checksums.txt | sha256sum -c - \
 && tar -xzf "${archive}" kustomize \
 && ./kustomize version

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    KUSTOMIZE_BIN=/usr/local/bin/kustomize
COPY --from=kustomize /tmp/kustomize/kustomize /usr/local/bin/kustomize
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY app.yml ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/server.js"]
