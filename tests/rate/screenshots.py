"""Screenshots of the rating page and the results page for the README (docs/images/).

    .venv/bin/python -m tests.rate.screenshots [--out docs/images]

Serves a throwaway workdir built from the shipped synthetic held-out sample (its references stand
in for one model, a blander text for the other), signs two raters in, rates a few items, and
photographs both pages in headless Chromium.
"""
import argparse
import os
import tempfile

from trainer.data import files
from trainer.eval import evaluate, human
from trainer.rate import stage
from trainer.rate.app import create_app
from trainer.rate.server import Server

from tests.rate.browser import chrome, require_browser
from tests.rate.conftest import make_config


def build_workdir(workdir: str, n: int = 8) -> None:
    examples = evaluate.load_examples(files.SAMPLE_HELDOUT)[:n]
    outputs = {"finetuned": [e["reference"] for e in examples],
               "baseline": [f"Hello {e['facts'].get('preferred_name', '')}. This is a message from your clinic "
                            "about your care. Please call us." for e in examples]}
    eval_dir = os.path.join(workdir, "eval")
    human.export_rating_sheet(examples, outputs, os.path.join(eval_dir, "rating_sheet.csv"),
                              os.path.join(eval_dir, "rating_key.csv"), seed=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    require_browser()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        build_workdir(workdir)
        config = make_config(overlap=0.25)
        store, info = stage.prepare(config, workdir)
        tokens = {name: stage.issue_rater(store, name) for name in ("Ana Ruiz", "Ben Okafor")}
        for name, token in tokens.items():
            rid = store.token_hash_of(token.split(".")[0])[0]["id"]
            for k in range(5):
                item = store.next_item(rid)
                good = item["model"] == "finetuned"
                store.save_rating(rid, item["item_id"], {
                    "relevance": 5 if good else 3, "accuracy": 5 if good else 2 + k % 2,
                    "empathy": 4 + (k + len(name)) % 2 if good else 3, "personalization": 4 if good else 2})
        server = Server(create_app(store, config.rate, workdir, config.eval), "127.0.0.1", 0).start()
        driver = chrome(os.path.join(workdir, "profile"), 1200, 860)
        try:
            from selenium.webdriver.common.action_chains import ActionChains
            from selenium.webdriver.common.keys import Keys
            driver.get(f"{server.url}/r/{tokens['Ana Ruiz']}")
            ActionChains(driver).send_keys("4", Keys.TAB, "5", Keys.TAB).perform()
            driver.save_screenshot(os.path.join(args.out, "rate_page.png"))
            driver.delete_all_cookies()
            driver.get(f"{server.url}/r/{info['admin_token']}")
            driver.set_window_size(1200, 1000)
            driver.save_screenshot(os.path.join(args.out, "rate_results.png"))
        finally:
            driver.quit()
            server.stop()
    print(os.path.join(args.out, "rate_page.png"), os.path.join(args.out, "rate_results.png"))


if __name__ == "__main__":
    main()
