// Issue 9: RayoServer lands here.
