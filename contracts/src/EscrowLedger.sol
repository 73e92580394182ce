// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title The accounts of the gpu-exchange Escrow
/// @notice What each client has on deposit, holds and owes, and what each account may claim; the views
///         of them. Settlement (EscrowSettlement) and the clients' side (Escrow) build on it.
///         With a challenge window (`challengeWindow` > 0) a settlement credit is first pending: it becomes
///         claimable once two window-long epochs have begun since it (so at least `challengeWindow` seconds
///         after its batch, while a challenge may still take it back). Each account keeps at most two
///         pending buckets, one per epoch parity; a bucket of an older epoch is matured by construction.
/// @dev Invariants: token.balanceOf(escrow) == sum(balanceOf) + sum(claimableOf) + sum(pendingOf) + bonds
///      + what open challenges hold; heldOf(c) <= balanceOf(c).
abstract contract EscrowLedger is AccessControl, ReentrancyGuard, Pausable {
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev balance and held share one slot so a settlement debit is one storage write per client.
    struct Account {
        uint128 balance;
        uint128 held;
    }

    /// @dev Credits of one epoch not yet claimable: epoch numbers start at 1 (0: an empty bucket).
    struct Pending {
        uint64 epoch;
        uint192 amount;
    }

    /// @notice The longest challenge window the escrow may be deployed with.
    uint64 public constant MAX_CHALLENGE_WINDOW = 7 days;

    /// @notice Seconds during which a settled batch may be challenged, and (after a challenge) answered;
    ///         0: no window (credits are claimable at once, nothing can be challenged).
    uint64 public immutable challengeWindow;

    address public feeRecipient;

    mapping(address client => Account) internal _accounts;
    mapping(address account => uint256) internal _claimable;
    /// @dev What each client owes for settled lines its balance did not cover (its open debts).
    mapping(address client => uint256) internal _debtOf;
    /// @dev Each account's pending credits, indexed by epoch parity.
    mapping(address account => Pending[2]) private _pending;

    event Credited(uint256 indexed batchId, address indexed account, uint256 amount, uint256 newClaimable);

    error ZeroAddress();
    error LengthMismatch();
    error InsufficientFreeBalance(address client, uint256 free, uint256 requested);
    error InsufficientBalance(address client, uint256 balance, uint256 debit);
    /// @dev A batch's lines do not fit its own debits and credits (the settler's error, not a client's).
    error LinesMismatch();
    error ChallengeWindowTooLong(uint64 seconds_, uint64 max);

    constructor(uint64 challengeWindow_) {
        if (challengeWindow_ > MAX_CHALLENGE_WINDOW) revert ChallengeWindowTooLong(challengeWindow_, MAX_CHALLENGE_WINDOW);
        challengeWindow = challengeWindow_;
    }

    /// @dev The epoch (1-based) of unix time `t`; only meaningful with a window.
    function _epochOf(uint256 t) internal view returns (uint64) {
        return uint64(t / challengeWindow + 1);
    }

    /// @dev Adds `amount` to what `account` is owed: claimable at once without a window, else pending in the
    ///      current epoch's bucket (a bucket of the same parity but an older epoch has matured: it moves to
    ///      claimable first). Returns Credited's newClaimable: without a window the new claimable balance,
    ///      with one what the current epoch's bucket now holds (not re-reading claimable saves a cold load).
    function _owe(address account, uint256 amount) internal returns (uint256) {
        if (challengeWindow == 0) return _pay(account, amount);
        uint64 epoch = _epochOf(block.timestamp);
        Pending storage slot = _pending[account][epoch & 1];
        Pending memory m = slot;
        if (m.epoch == epoch) {
            uint192 grown = m.amount + uint192(amount);
            slot.amount = grown;
            return grown;
        }
        if (m.amount != 0) _claimable[account] += m.amount;
        slot.epoch = epoch;
        slot.amount = uint192(amount);
        return amount;
    }

    /// @dev Takes `amount` back from `account`'s pending bucket of `epoch` (a challenged credit). The bucket
    ///      still holds that epoch: a challenge ends before the epoch's credits mature.
    function _unowe(address account, uint64 epoch, uint256 amount) internal {
        Pending storage slot = _pending[account][epoch & 1];
        if (slot.epoch != epoch) revert LinesMismatch();
        slot.amount -= uint192(amount);
    }

    /// @dev Moves `account`'s matured pending buckets into its claimable balance.
    function _mature(address account) internal {
        if (challengeWindow == 0) return;
        uint64 epoch = _epochOf(block.timestamp);
        for (uint256 i; i < 2; ++i) {
            Pending memory m = _pending[account][i];
            if (m.epoch != 0 && m.epoch + 2 <= epoch) {
                _claimable[account] += m.amount;
                delete _pending[account][i];
            }
        }
    }

    /// @dev (matured, pending) of `account`'s buckets now.
    function _bucketsOf(address account) private view returns (uint256 matured, uint256 pending) {
        if (challengeWindow == 0) return (0, 0);
        uint64 epoch = _epochOf(block.timestamp);
        for (uint256 i; i < 2; ++i) {
            Pending memory m = _pending[account][i];
            if (m.epoch != 0 && m.epoch + 2 <= epoch) matured += m.amount;
            else pending += m.amount;
        }
    }

    /// @dev Credits each provider entry its credit less what `deferred` keeps back (empty: nothing):
    ///      pending (`_owe`) when settling a batch, claimable at once (`now_`) for a line that is final;
    ///      returns the total credited.
    function _credit(
        uint256 batchId,
        address[] calldata providers,
        uint256[] calldata credits,
        uint256[] memory deferred,
        bool now_
    )
        internal
        returns (uint256 total)
    {
        bool anyDeferred = deferred.length != 0;
        for (uint256 i; i < providers.length; ++i) {
            address provider = providers[i];
            if (provider == address(0)) revert ZeroAddress();
            uint256 credit = credits[i];
            if (anyDeferred) {
                if (deferred[i] > credit) revert LinesMismatch();
                credit -= deferred[i];
            }
            total += credit;
            emit Credited(batchId, provider, credit, now_ ? _pay(provider, credit) : _owe(provider, credit));
        }
    }

    /// @dev Credits the protocol fee to the fee recipient (pending, or claimable at once with `now_`).
    function _creditFee(uint256 batchId, uint256 fee, bool now_) internal {
        address recipient = feeRecipient;
        emit Credited(batchId, recipient, fee, now_ ? _pay(recipient, fee) : _owe(recipient, fee));
    }

    /// @dev Adds `amount` to `account`'s claimable balance at once; returns the new claimable balance.
    function _pay(address account, uint256 amount) internal returns (uint256 newClaimable) {
        newClaimable = _claimable[account] + amount;
        _claimable[account] = newClaimable;
    }

    /// @dev balance - held - debt, not below zero.
    function _freeOf(Account storage a, uint256 debt) internal view returns (uint256) {
        uint256 reserved = uint256(a.held) + debt;
        return a.balance > reserved ? a.balance - reserved : 0;
    }

    // ------------------------------------------------------------------ views

    function balanceOf(address client) external view returns (uint256) {
        return _accounts[client].balance;
    }

    function heldOf(address client) external view returns (uint256) {
        return _accounts[client].held;
    }

    /// @notice balance - held - debt (not below zero): the most an unlocked `withdraw` may take now.
    function freeBalanceOf(address client) external view returns (uint256) {
        return _freeOf(_accounts[client], _debtOf[client]);
    }

    /// @notice What the client owes for settled lines its balance did not cover (open debts).
    function debtOf(address client) external view returns (uint256) {
        return _debtOf[client];
    }

    /// @notice What `account` may claim now (its matured credits included).
    function claimableOf(address account) external view returns (uint256) {
        (uint256 matured,) = _bucketsOf(account);
        return _claimable[account] + matured;
    }

    /// @notice Credits of `account` still inside the challenge window (claimable later).
    function pendingOf(address account) external view returns (uint256 pending) {
        (, pending) = _bucketsOf(account);
    }
}
