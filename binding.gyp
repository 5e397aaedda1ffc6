{
  "targets": [
    {
      "target_name": "python_ts",
      "type": "none",
      "actions": [
        {
          "action_name": "cargo_build",
          "inputs": ["Cargo.toml", "Cargo.lock", "build.rs"],
          "outputs": ["<(PRODUCT_DIR)/python_ts.node"],
          "action": ["node", "scripts/build-native.js", "<(PRODUCT_DIR)/python_ts.node"]
        }
      ]
    }
  ]
}
