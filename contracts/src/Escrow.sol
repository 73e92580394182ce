// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Escrow of the gpu-exchange marketplace
/// @notice Clients deposit OGPU and withdraw what is not held in two steps: `requestWithdraw(amount)`,
///         then `withdraw()` once `withdrawDelay` has passed, which pays at most the free balance then
///         (balance - held - debt). The delay is longer than the marketplace takes to mirror a new job's
///         hold with `setHolds`, so money a job was matched on cannot leave before it is held on chain.
///         The marketplace (SETTLER_ROLE) settles completed jobs in batches with `settle`: one
///         transaction debits clients, credits providers' claimable balances (pull payments) and the
///         protocol fee, and records the Merkle root of the batch's jobs. A client whose balance cannot
///         cover its debit does not fail the batch: its line becomes a debt (DebtRecorded), the credits
///         that line would have paid wait in the debt, and anyone settles it with `payDebt` once the
///         client's free balance covers it. No per-job storage or events: a job is proven against its
///         batch's root with `verifyJob`.
/// @dev Invariants: token.balanceOf(this) == sum(balanceOf) + sum(claimableOf) (greater only if
///      tokens are sent to this contract without `deposit`); heldOf(c) <= balanceOf(c) for every c;
///      a withdrawal never takes more than balance - held - debt. Amounts are token base units (wei,
///      18 decimals); a client's balance and held fit in uint128.
contract Escrow is AccessControl, ReentrancyGuard, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev balance and held share one slot so a settlement debit is one storage write per client.
    struct Account {
        uint128 balance;
        uint128 held;
    }

    /// @dev A client's pending withdrawal: one per client, a new request replaces it (and its clock).
    struct Withdrawal {
        uint128 amount;
        uint64 unlockAt;
    }

    /// @notice The arguments of `settle`: one batch of completed jobs.
    /// @param batchId settles at most once (BatchAlreadySettled).
    /// @param merkleRoot root of the batch's job leaves; must not be zero.
    /// @param jobCount number of leaves, recorded in the event only.
    /// @param clients and `debits`: what each client entry pays.
    /// @param providers and `credits`: what each provider entry is credited.
    /// @param lines what each client entry pays each provider entry: (clientIndex << 240) |
    ///        (providerIndex << 224) | amount, so that credits[p] is the sum of the lines of provider p
    ///        and a client's lines sum to at most its debit (the rest of its debit is the fee).
    struct Batch {
        uint256 batchId;
        bytes32 merkleRoot;
        uint32 jobCount;
        address[] clients;
        uint256[] debits;
        address[] providers;
        uint256[] credits;
        uint256[] lines;
    }

    /// @notice The longest `withdrawDelay` the admin may set.
    uint64 public constant MAX_WITHDRAW_DELAY = 30 days;
    /// @dev A settle line: client index (bits 240-255), provider index (bits 224-239), amount (bits 0-223).
    uint256 private constant LINE_AMOUNT_MASK = (1 << 224) - 1;

    IERC20 public immutable token;
    address public feeRecipient;

    mapping(address client => Account) private _accounts;
    mapping(address account => uint256) private _claimable;
    mapping(uint256 batchId => bytes32) private _batchRoots;
    /// @notice Seconds between `requestWithdraw` and the earliest `withdraw` of that request.
    uint64 public withdrawDelay;
    /// @notice Debts recorded so far; debt ids are 1..debtCount.
    uint256 public debtCount;
    mapping(address client => Withdrawal) private _withdrawals;
    mapping(address client => uint256) private _debtOf;
    /// @dev keccak256(abi.encode(batchId, client, amount, providers, credits)) of an open debt; zero once paid.
    mapping(uint256 debtId => bytes32) private _debts;

    event Deposited(address indexed client, uint256 amount, uint256 newBalance);
    event WithdrawRequested(address indexed client, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed client, uint256 amount, uint256 newBalance);
    event HoldsUpdated(address indexed client, uint256 held);
    event Debited(uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newHeld);
    event Credited(uint256 indexed batchId, address indexed account, uint256 amount, uint256 newClaimable);
    event BatchSettled(
        uint256 indexed batchId, bytes32 merkleRoot, uint32 jobCount, uint256 totalDebited, uint256 totalCredited
    );
    event Claimed(address indexed account, address indexed to, uint256 amount);
    event FeeRecipientUpdated(address indexed previous, address indexed current);
    event WithdrawDelayUpdated(uint64 previousSeconds, uint64 newSeconds);
    /// @notice A client's line of batch `batchId` that its balance could not cover: it owes `amount`, and
    ///         `providers[k]` is owed `credits[k]` of it (the rest is the fee) once the debt is paid.
    event DebtRecorded(
        uint256 indexed debtId,
        uint256 indexed batchId,
        address indexed client,
        uint256 amount,
        uint256 newDebt,
        address[] providers,
        uint256[] credits
    );
    event DebtPaid(
        uint256 indexed debtId, uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newDebt
    );

    error ZeroAddress();
    error ZeroAmount();
    error LengthMismatch();
    error InsufficientFreeBalance(address client, uint256 free, uint256 requested);
    error InsufficientBalance(address client, uint256 balance, uint256 debit);
    error CreditsExceedDebits(uint256 totalDebited, uint256 totalCredited);
    error BatchAlreadySettled(uint256 batchId);
    error EmptyMerkleRoot();
    error NothingToClaim(address account);
    error NothingToWithdraw(address client);
    error WithdrawalLocked(address client, uint64 unlockAt);
    error WithdrawDelayTooLong(uint64 seconds_, uint64 max);
    error LinesMismatch();
    error UnknownDebt(uint256 debtId);

    /// @param token_ the OGPU ERC-20 (a standard token: no fee on transfer, no rebasing).
    /// @param admin receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE; SETTLER_ROLE is granted separately.
    /// @param feeRecipient_ the account whose claimable balance receives protocol fees.
    /// @param withdrawDelay_ seconds between a withdrawal request and its withdrawal (at most 30 days).
    constructor(IERC20 token_, address admin, address feeRecipient_, uint64 withdrawDelay_) {
        if (address(token_) == address(0) || admin == address(0) || feeRecipient_ == address(0)) {
            revert ZeroAddress();
        }
        if (withdrawDelay_ > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(withdrawDelay_, MAX_WITHDRAW_DELAY);
        token = token_;
        feeRecipient = feeRecipient_;
        withdrawDelay = withdrawDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit FeeRecipientUpdated(address(0), feeRecipient_);
        emit WithdrawDelayUpdated(0, withdrawDelay_);
    }

    // ------------------------------------------------------------------ clients

    /// @notice Moves `amount` tokens from the caller (after `approve`) into the caller's balance.
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        Account storage a = _accounts[msg.sender];
        uint128 newBalance = SafeCast.toUint128(uint256(a.balance) + received);
        a.balance = newBalance;
        emit Deposited(msg.sender, received, newBalance);
    }

    /// @notice Asks to withdraw `amount` (at most the balance) after `withdrawDelay` seconds. Replaces any
    ///         earlier request and restarts the clock; 0 cancels the request.
    function requestWithdraw(uint256 amount) external whenNotPaused {
        uint256 balance = _accounts[msg.sender].balance;
        if (amount > balance) revert InsufficientBalance(msg.sender, balance, amount);
        uint64 unlockAt = amount == 0 ? 0 : uint64(block.timestamp) + withdrawDelay;
        _withdrawals[msg.sender] = Withdrawal(uint128(amount), unlockAt);
        emit WithdrawRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Pays the caller's withdrawal request once unlocked: the requested amount, or the free
    ///         balance (balance - held - debt) when that is less, and closes the request. Never takes
    ///         held funds: reverts InsufficientFreeBalance (keeping the request) when nothing is free.
    function withdraw() external nonReentrant whenNotPaused returns (uint256 amount) {
        Withdrawal memory w = _withdrawals[msg.sender];
        if (w.amount == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < w.unlockAt) revert WithdrawalLocked(msg.sender, w.unlockAt);
        Account storage a = _accounts[msg.sender];
        uint256 free = _freeOf(a, _debtOf[msg.sender]);
        if (free == 0) revert InsufficientFreeBalance(msg.sender, 0, w.amount);
        amount = w.amount < free ? w.amount : free;
        delete _withdrawals[msg.sender];
        uint128 newBalance = a.balance - uint128(amount);
        a.balance = newBalance;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount, newBalance);
    }

    function _freeOf(Account storage a, uint256 debt) private view returns (uint256) {
        uint256 reserved = uint256(a.held) + debt;
        return a.balance > reserved ? a.balance - reserved : 0;
    }

    // ------------------------------------------------------------------ marketplace

    /// @notice Sets absolute held amounts. A hold above the client's balance is clamped to the
    ///         balance (HoldsUpdated carries the stored value), so one client's balance cannot make
    ///         the whole update revert. A client may appear more than once: the last entry wins.
    function setHolds(address[] calldata clients, uint256[] calldata amounts)
        external
        onlyRole(SETTLER_ROLE)
        whenNotPaused
    {
        if (clients.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < clients.length; ++i) {
            Account storage a = _accounts[clients[i]];
            uint256 held = amounts[i] < a.balance ? amounts[i] : a.balance;
            a.held = uint128(held);
            emit HoldsUpdated(clients[i], held);
        }
    }

    /// @notice Settles a batch of jobs. Debits each client (and lowers its held by the debit, not below
    ///         zero), credits each provider's claimable balance, and credits the protocol fee
    ///         sum(debits) - sum(credits) to the fee recipient's claimable balance. A client whose balance
    ///         is below its debit is not debited: its line becomes a debt (DebtRecorded) that holds the
    ///         credits its `lines` name, the providers are credited the rest, and every other line settles.
    /// @dev Leaves are keccak256(abi.encode(bytes32 jobId, address provider, uint256 amount,
    ///      bytes32 resultHash)) in a sorted-pair keccak256 tree (OpenZeppelin MerkleProof). The
    ///      contract does not check the leaves or the lines against the debits and credits; the indexer
    ///      and auditors can. The lines are read only for a client that is short. Repeated addresses are
    ///      allowed (each entry applies in order).
    ///      The batch's fields are described at `Batch`.
    function settle(Batch calldata b) external onlyRole(SETTLER_ROLE) whenNotPaused {
        if (b.clients.length != b.debits.length || b.providers.length != b.credits.length) revert LengthMismatch();
        if (b.merkleRoot == bytes32(0)) revert EmptyMerkleRoot();
        uint256 batchId = b.batchId;
        if (_batchRoots[batchId] != bytes32(0)) revert BatchAlreadySettled(batchId);
        _batchRoots[batchId] = b.merkleRoot;

        (uint256 totalDebited, uint256[] memory deferred) = _debit(b);
        uint256 totalCredited = _credit(batchId, b.providers, b.credits, deferred);
        if (totalCredited > totalDebited) revert CreditsExceedDebits(totalDebited, totalCredited);
        if (totalDebited != totalCredited) _creditFee(batchId, totalDebited - totalCredited);
        emit BatchSettled(batchId, b.merkleRoot, b.jobCount, totalDebited, totalCredited);
    }

    /// @dev `deferred[p]`: what provider entry p is not credited now (it waits in debts); empty when no
    ///      client was short.
    function _debit(Batch calldata b) private returns (uint256 total, uint256[] memory deferred) {
        uint256 batchId = b.batchId;
        address[] calldata clients = b.clients;
        uint256[] calldata debits = b.debits;
        for (uint256 i; i < clients.length; ++i) {
            address client = clients[i];
            uint256 debit = debits[i];
            Account storage a = _accounts[client];
            Account memory m = a;
            if (debit > m.balance) {
                if (deferred.length == 0) deferred = new uint256[](b.providers.length);
                _recordDebt(b, i, deferred);
                continue;
            }
            uint128 newBalance = m.balance - uint128(debit);
            uint128 newHeld = m.held > debit ? m.held - uint128(debit) : 0;
            a.balance = newBalance;
            a.held = newHeld;
            total += debit;
            emit Debited(batchId, client, debit, newBalance, newHeld);
        }
    }

    /// @dev The short client's line as a debt: its lines' credits move from the batch into the debt.
    function _recordDebt(Batch calldata b, uint256 clientIndex, uint256[] memory deferred) private {
        uint256[] calldata lines = b.lines;
        address[] calldata providers = b.providers;
        uint256 count;
        for (uint256 k; k < lines.length; ++k) {
            if (lines[k] >> 240 == clientIndex) ++count;
        }
        address[] memory owedTo = new address[](count);
        uint256[] memory owed = new uint256[](count);
        uint256 n;
        uint256 sum;
        for (uint256 k; k < lines.length; ++k) {
            uint256 line = lines[k];
            if (line >> 240 != clientIndex) continue;
            uint256 p = (line >> 224) & 0xffff;
            if (p >= providers.length) revert LinesMismatch();
            uint256 amount = line & LINE_AMOUNT_MASK;
            deferred[p] += amount;
            owedTo[n] = providers[p];
            owed[n] = amount;
            sum += amount;
            ++n;
        }
        _openDebt(b.batchId, b.clients[clientIndex], b.debits[clientIndex], sum, owedTo, owed);
    }

    function _openDebt(uint256 batchId, address client, uint256 debit, uint256 owedSum, address[] memory owedTo, uint256[] memory owed)
        private
    {
        if (owedSum > debit) revert LinesMismatch();
        uint256 debtId = ++debtCount;
        _debts[debtId] = keccak256(abi.encode(batchId, client, debit, owedTo, owed));
        uint256 newDebt = _debtOf[client] + debit;
        _debtOf[client] = newDebt;
        emit DebtRecorded(debtId, batchId, client, debit, newDebt, owedTo, owed);
    }

    function _credit(uint256 batchId, address[] calldata providers, uint256[] calldata credits, uint256[] memory deferred)
        private
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
            uint256 newClaimable = _claimable[provider] + credit;
            _claimable[provider] = newClaimable;
            total += credit;
            emit Credited(batchId, provider, credit, newClaimable);
        }
    }

    /// @notice Pays open debt `debtId` from the client's free balance (balance - held): the client's
    ///         balance drops by `amount`, the providers the debt names are credited what it owes them, and
    ///         the fee recipient the rest. Anyone may call it; the arguments are those of its DebtRecorded.
    function payDebt(
        uint256 debtId,
        uint256 batchId,
        address client,
        uint256 amount,
        address[] calldata providers,
        uint256[] calldata credits
    ) external whenNotPaused {
        bytes32 recorded = _debts[debtId];
        if (recorded == bytes32(0) || recorded != keccak256(abi.encode(batchId, client, amount, providers, credits))) {
            revert UnknownDebt(debtId);
        }
        Account storage a = _accounts[client];
        Account memory m = a;
        uint256 free = uint256(m.balance) - m.held;
        if (amount > free) revert InsufficientFreeBalance(client, free, amount);
        delete _debts[debtId];
        uint128 newBalance = m.balance - uint128(amount);
        a.balance = newBalance;
        uint256 newDebt = _debtOf[client] - amount;
        _debtOf[client] = newDebt;
        emit DebtPaid(debtId, batchId, client, amount, newBalance, newDebt);
        uint256 credited = _credit(batchId, providers, credits, new uint256[](0));
        if (amount != credited) _creditFee(batchId, amount - credited);
    }

    function _creditFee(uint256 batchId, uint256 fee) private {
        address recipient = feeRecipient;
        uint256 newClaimable = _claimable[recipient] + fee;
        _claimable[recipient] = newClaimable;
        emit Credited(batchId, recipient, fee, newClaimable);
    }

    // ------------------------------------------------------------------ providers and fee recipient

    /// @notice Pays the caller's whole claimable balance to the caller.
    function claim() external returns (uint256) {
        return _claim(msg.sender);
    }

    /// @notice Pays the caller's whole claimable balance to `to`.
    function claimTo(address to) external returns (uint256) {
        if (to == address(0)) revert ZeroAddress();
        return _claim(to);
    }

    function _claim(address to) private nonReentrant whenNotPaused returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit Claimed(msg.sender, to, amount);
    }

    // ------------------------------------------------------------------ admin

    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        emit FeeRecipientUpdated(feeRecipient, feeRecipient_);
        feeRecipient = feeRecipient_;
    }

    /// @notice Sets the withdrawal delay for later requests (pending ones keep their unlock time). It
    ///         must stay longer than the marketplace takes to mirror a new hold on chain.
    function setWithdrawDelay(uint64 seconds_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (seconds_ > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(seconds_, MAX_WITHDRAW_DELAY);
        emit WithdrawDelayUpdated(withdrawDelay, seconds_);
        withdrawDelay = seconds_;
    }

    /// @notice Stops deposit, requestWithdraw, withdraw, setHolds, settle, payDebt, claim and claimTo.
    ///         Views and admin functions (roles, setFeeRecipient, setWithdrawDelay, unpause) keep working.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
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

    /// @notice The client's pending withdrawal request: its amount and when `withdraw` may take it.
    function withdrawalOf(address client) external view returns (uint256 amount, uint64 unlockAt) {
        Withdrawal memory w = _withdrawals[client];
        return (w.amount, w.unlockAt);
    }

    /// @notice Whether debt `debtId` was recorded and is not paid yet.
    function isDebtOpen(uint256 debtId) external view returns (bool) {
        return _debts[debtId] != bytes32(0);
    }

    function claimableOf(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice The Merkle root a settled batch recorded; zero when the batch is not settled.
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _batchRoots[batchId];
    }

    function isSettled(uint256 batchId) external view returns (bool) {
        return _batchRoots[batchId] != bytes32(0);
    }

    /// @notice keccak256(abi.encode(jobId, provider, amount, resultHash)): a job's leaf. The preimage
    ///         is 128 bytes and an inner node's 64, so a leaf cannot pass for an inner node.
    function jobLeaf(bytes32 jobId, address provider, uint256 amount, bytes32 resultHash)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, provider, amount, resultHash));
    }

    /// @notice Whether the job (jobId, provider, amount, resultHash) is in settled batch `batchId`,
    ///         given its sorted-pair Merkle proof.
    function verifyJob(
        uint256 batchId,
        bytes32 jobId,
        address provider,
        uint256 amount,
        bytes32 resultHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, jobLeaf(jobId, provider, amount, resultHash));
    }
}
