"""End to end in a real headless browser: a rater link, three items rated with the keyboard, a reload."""
import pytest

from trainer.rate import stage
from trainer.rate.app import create_app
from trainer.rate.server import Server

from tests.rate.browser import chrome, require_browser


@pytest.fixture
def browser(tmp_path):
    require_browser()
    driver = chrome(str(tmp_path / "profile"))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_rate_three_items_with_the_keyboard_reload_and_resume(prepared, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def wait(condition):
        # The page is replaced under the driver after a submit: an element found a moment ago may be gone.
        WebDriverWait(browser, 30, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                      ).until(condition)

    workdir, store, _, config = prepared
    token = stage.issue_rater(store, "Ana")
    server = Server(create_app(store, config.rate, workdir, config.eval), "127.0.0.1", 0, threads=4).start()
    try:
        browser.get(f"{server.url}/r/{token}")
        assert browser.current_url == f"{server.url}/rate"  # the token left the address bar
        total = store.progress(store.token_hash_of(token.split(".")[0])[0]["id"])["total"]
        assert browser.find_element(By.ID, "progress-text").text == f"0 of {total} done"

        def current_item():
            return browser.find_element(By.NAME, "item_id").get_attribute("value")

        keys = [("4", "3", "5", "2", ""), ("5", "5", "4", "4", "clear and kind"), ("1", "2", "1", "1", "")]
        rated = []
        for scores in keys:
            item = current_item()
            # The page's key handling is in place and autofocus has put the keyboard on the first score.
            wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-keys") == "ready"
                 and d.switch_to.active_element.get_attribute("id") == "score-relevance")
            strokes = []
            for i, digit in enumerate(scores[:4]):
                strokes += [digit, Keys.TAB] if i < 3 else [digit]
            if scores[4]:
                strokes += [Keys.TAB, scores[4]]
            # "9" and "x" are refused by the page: the first score stays empty until the "4".
            ActionChains(browser).send_keys("9x").send_keys(*strokes).send_keys(Keys.ENTER).perform()
            wait(lambda d: current_item() != item)
            rated.append(item)
        assert "finetuned" not in browser.page_source and "baseline" not in browser.page_source

        browser.refresh()
        assert browser.find_element(By.ID, "progress-text").text == f"3 of {total} done"
        assert browser.find_element(By.ID, "progress").get_attribute("value") == "3"
        assert current_item() not in rated

        rows = store.ratings()
        assert [r["item_id"] for r in rows] == rated
        assert [tuple(str(r["scores"][d]) for d in ("relevance", "accuracy", "empathy", "personalization"))
                + (r["comment"],) for r in rows] == keys
        assert {r["rater"] for r in rows} == {"Ana"} and not any(r["skipped"] for r in rows)

        # Undo from the keyboard-reachable button brings the last item back, blank.
        browser.find_element(By.ID, "undo").click()
        wait(lambda d: current_item() == rated[-1])
        assert browser.find_element(By.ID, "progress-text").text == f"2 of {total} done"
        assert [r["item_id"] for r in store.ratings()] == rated[:2]
    finally:
        server.stop()
