// Small manifests shared by the App tests.

/** A minimal Deployment `apps/web` running `image`. */
export const webDeployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image}
`;

/** A semver ImagePolicy named after its ImageRepository. */
export const semverImagePolicy = (name: string, range: string, { namespace = "flux-system", apiVersion = "image.toolkit.fluxcd.io/v1" } = {}) => `apiVersion: ${apiVersion}
kind: ImagePolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  imageRepositoryRef:
    name: ${name}
  policy:
    semver:
      range: ${range}
`;
